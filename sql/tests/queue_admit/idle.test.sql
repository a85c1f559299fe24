-- api.queue_admit never admits an idle WAITING ticket: it expires it and
-- gives the slot to the next in line. It keeps admit_rate, an average of
-- admissions per second over about a minute.
begin;
select plan(10);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();

select tests.setting('queue_active_cap', 2);
select tests.setting('waiting_idle_seconds', 300);
select tests.setting('admit_interval_seconds', 1);
select tests.concert() as concert_id \gset
-- five users join in turn: tokens t1..t5; the first has not polled for 300 s
select * from tests.queue_line(:concert_id, 5, 'idle') \gset
update app.queue_tickets set last_seen_at = now() - interval '300 seconds' where token = :'t1';

set local role boxoffice_api;
select is(api.queue_admit(), 2, 'two admitted');
reset role;
select is((select array_agg(status order by queue_no) from app.queue_tickets where concert_id = :concert_id),
  array['EXPIRED', 'ACTIVE', 'ACTIVE', 'WAITING', 'WAITING'],
  'the idle first one is expired, not admitted; the next two are');
select is((select (activated_at, ended_at) from app.queue_tickets where token = :'t1'),
  row(null::timestamptz, now()), 'the idle one was never activated and ended now');
set local role boxoffice_api;
select throws_ok(format('select api.queue_status(%L)', :'t1'), 'CR302', null, 'its token is CR302');
select is((api.queue_status(:'t4')->>'position')::integer, 1, 'the fourth is now first in line');
reset role;
select is(tests.watermark(:concert_id), 3::bigint, 'the watermark is 3');

-- the rate: from 0, one admission interval back: 2 admissions in 1 s weigh 1 - e^(-1/60)
select admit_rate as rate1 from app.queues where concert_id = :concert_id \gset
select ok(abs(:rate1 - 2 * (1 - exp(-1.0 / 60))) < 1e-9, 'the first admit_rate counts from one interval back');
select is((select rate_updated_at from app.queues where concert_id = :concert_id), now(), 'rate_updated_at is now');
-- 30 s later, the cap full: nobody admitted, the rate decays
select app.queue_admit(now() + interval '30 seconds') as admitted \gset
select ok(abs((select admit_rate from app.queues where concert_id = :concert_id) - :rate1 * exp(-30.0 / 60)) < 1e-9,
  'a run that admits nobody lets the rate decay: rate * e^(-30/60)');
-- 60 s after that, one slot frees: 1 admission in 60 s
update app.queue_tickets set status = 'LEFT', ended_at = now() where token = :'t2';
select admit_rate as rate2 from app.queues where concert_id = :concert_id \gset
select app.queue_admit(now() + interval '90 seconds') as admitted \gset
select ok(abs((select admit_rate from app.queues where concert_id = :concert_id)
              - (:rate2 + (1 - exp(-1.0)) * (1.0 / 60 - :rate2))) < 1e-9,
  'rate += (1 - e^(-dt/60)) * (n/dt - rate)');

select * from finish();
rollback;
