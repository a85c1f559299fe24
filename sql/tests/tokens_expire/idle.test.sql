-- api.tokens_expire: a WAITING token not polled for waiting_idle_seconds
-- loses its place: CR302 at once, EXPIRED by the sweep, and the positions
-- behind it drop.
begin;
select plan(9);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();

select tests.setting('waiting_idle_seconds', 60);
select tests.concert() as concert_id \gset
-- three users join in turn: tokens t1..t3
select * from tests.queue_line(:concert_id, 3, 'idle') \gset

set local role boxoffice_api;
-- the second and third poll 50 s later (throttle 20 s: recorded), the first does not
reset role;
select app.queue_status(:'t2', now() + interval '50 seconds') \gset
select app.queue_status(:'t3', now() + interval '50 seconds') \gset
set local role boxoffice_api;

reset role;
select is(app.tokens_expire(now() + interval '59 seconds'), 0, 'nothing is idle after 59 s');
select throws_ok(format('select app.queue_status(%L, %L)', :'t1', now() + interval '60 seconds'),
  'CR302', null, 'after 60 s without a poll the token is CR302');
select is((app.queue_status(:'t3', now() + interval '60 seconds')->>'position')::integer, 3,
  'before the sweep the idle ticket still counts ahead (position 3)');
select is(app.tokens_expire(now() + interval '60 seconds'), 1, 'the sweep expires the idle one only');
select is((select (status, activated_at, ended_at)::text from app.queue_tickets where token = :'t1'),
  ('EXPIRED', null, now() + interval '60 seconds')::text, 'EXPIRED, never activated, ended then');
select is((app.queue_status(:'t2', now() + interval '60 seconds')->>'position')::integer, 1,
  'the second moves up to 1');
select is((app.queue_status(:'t3', now() + interval '60 seconds')->>'position')::integer, 2,
  'the third moves up to 2');
select is(app.queue_admit(now() + interval '60 seconds'), 2, 'admission takes the two live ones');
select is(app.queue_status(:'t2', now() + interval '60 seconds')->>'status', 'ACTIVE', 'the second is ACTIVE');
set local role boxoffice_api;

select * from finish();
rollback;
