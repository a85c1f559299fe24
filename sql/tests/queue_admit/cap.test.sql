-- api.queue_admit with cap 100 and 500 waiting: one run leaves exactly 100
-- ACTIVE; a second run admits nobody. The count covers every concert.
begin;
select plan(7);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();

select tests.setting('queue_active_cap', 100);
select tests.concert() as concert_id \gset
select tests.concert() as concert2_id \gset
create temp table fx_users on commit drop as select * from tests.users(500, 'admit cap');
grant select on fx_users to boxoffice_api;

set local role boxoffice_api;
select count(*) as joined from (select * from fx_users order by n) u
  cross join lateral api.queue_join(u.user_id, :concert_id) j \gset
select count(*) as joined from (select * from fx_users where n <= 3 order by n) u
  cross join lateral api.queue_join(u.user_id, :concert2_id) j \gset

select is(api.queue_admit(), 103, 'one run admits 100 of the first concert and the 3 of the second');
reset role;
select is((select count(*) from app.queue_tickets where concert_id = :concert_id and status = 'ACTIVE'), 100::bigint,
  'exactly 100 ACTIVE');
select is((select max(tests.queue_rank(:concert_id, queue_no)) from app.queue_tickets where concert_id = :concert_id and status = 'ACTIVE'), 100::bigint,
  'the first 100 in line');
select is((select count(*) from app.queue_tickets where concert_id = :concert_id and status = 'WAITING'), 400::bigint,
  '400 still waiting');
set local role boxoffice_api;
select is(api.queue_admit(), 0, 'a second run admits nobody');
reset role;
select is((select count(*) from app.queue_tickets where concert_id = :concert_id and status = 'ACTIVE'), 100::bigint,
  'still exactly 100 ACTIVE');
select is((select array_agg(tests.watermark(concert_id) order by concert_id) from app.queues where concert_id in (:concert_id, :concert2_id)),
  array[100, 3]::bigint[], 'the watermarks');

select * from finish();
rollback;
