-- app.seed_scale: appends concerts with queues, dates and 50 seats per date, and returns the seats inserted.
begin;
select plan(8);

select coalesce(max(concert_id), 0) as before from app.concerts \gset

select is(app.seed_scale(3, 4), 600::bigint, '3 concerts x 4 dates x 50 seats');
select is(app.seed_scale(2, 1), 100::bigint, 'a second batch appends');
select is((select count(*) from app.concerts c where c.concert_id > :before), 5::bigint, 'five new concerts');
select is((select count(*) from app.queues q where q.concert_id > :before), 5::bigint, 'each with its queue');
select is((select count(*) from app.seats s where s.concert_id > :before and s.status = 'FREE'), 700::bigint,
  'their 700 seats, FREE');
select is((select count(distinct c.title) from app.concerts c where c.concert_id > :before), 5::bigint,
  'titles are not repeated across batches');
select ok((select bool_and(d.starts_at > now()) from app.concert_dates d where d.concert_id > :before), 'all dates are to come');
select throws_ok('select app.seed_scale(0, 5)', 'CR001', NULL, 'zero concerts is refused');

select * from finish();
rollback;
