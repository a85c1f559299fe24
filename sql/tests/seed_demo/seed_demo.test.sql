-- app.seed_demo: 3 concerts with queues, 5 dates each, 50 priced seats per date and 1 000 users; once only.
begin;
select plan(11);

-- The demo seeds an empty database only; empty this transaction's view of it.
set local client_min_messages = warning;
truncate app.concerts, app.users cascade;
reset client_min_messages;

select is(app.seed_demo(now()),
  '{"seeded": true, "concerts": 3, "dates": 15, "seats": 750, "users": 1000}'::jsonb, 'the first call seeds');
select is((select count(*) from app.concerts c where length(c.title) > 0 and length(c.venue) > 0), 3::bigint,
  'three concerts with titles and venues');
select is((select count(*) from app.queues q join app.concerts c using (concert_id)), 3::bigint, 'each with its queue');
select is((select array_agg(distinct n) from (select count(*) n from app.concert_dates d group by d.concert_id) x),
  array[5::bigint], 'five dates each');
select is((select array_agg(d.starts_at order by d.starts_at)
           from app.concert_dates d where d.concert_id = (select min(c.concert_id) from app.concerts c)),
  (select array_agg((((now() at time zone 'UTC')::date + g + time '19:00') at time zone 'UTC') order by g)
   from generate_series(1, 5) g),
  'from tomorrow, one day apart, at 19:00 UTC');
select is((select array_agg(distinct n) from (select count(*) n from app.seats s group by s.date_id) x),
  array[50::bigint], 'fifty seats per date');
select is((select array_agg(distinct (s.seat_no, s.price)::text order by (s.seat_no, s.price)::text)
           from app.seats s where s.seat_no in (1, 10, 11, 30, 31, 50)),
  array['(1,150000)', '(10,150000)', '(11,100000)', '(30,100000)', '(31,70000)', '(50,70000)'],
  'priced by row: 1-10 150 000, 11-30 100 000, 31-50 70 000 won');
select is((select count(*) from app.seats s where s.status <> 'FREE'), 0::bigint, 'all seats FREE');
select is((select array[min(u.name), max(u.name)] || array[sum(u.balance)::text] from app.users u),
  array['user-0001', 'user-1000', '0'], 'users user-0001 to user-1000 with zero balance');

select is(app.seed_demo(), '{"seeded": false, "concerts": 0, "dates": 0, "seats": 0, "users": 0}'::jsonb,
  'a second call does nothing');
select is((select count(*) from app.concerts), 3::bigint, 'still three concerts');

select * from finish();
rollback;
