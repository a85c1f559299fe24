-- new_users_per_minute: admission no faster than that per concert, on top of
-- the cap, spread over the runs of a minute (a bucket of one admission
-- interval's worth, at least one); the estimated wait follows that rate.
begin;
select plan(9);

select tests.clear_queues();
select tests.setting('queue_active_cap', 100);
select tests.setting('active_token_seconds', 10);
select tests.setting('admit_interval_seconds', 1);
select tests.setting('waiting_idle_seconds', 3600);
select tests.setting('new_users_per_minute', 30);
select tests.concert() as concert_id \gset
create temp table fx_fans on commit drop as select * from tests.join_line(:concert_id, 40);

-- 30 a minute, one run a second: a bucket of one, refilled half a token a run
select is((select sum(app.queue_admit(now() + make_interval(secs => s))) from generate_series(0, 9) s),
  5::bigint, 'ten runs of one second at 30 a minute admit 5, though the cap has room for all');
select is((select array_agg(f.n order by f.n) from fx_fans f join app.queue_tickets t using (token) where t.status = 'ACTIVE'),
  array[1, 2, 3, 4, 5], 'in arrival order');
select is((app.queue_status((select token from fx_fans where n = 6), now() + interval '10 seconds') ->> 'estimatedWaitSeconds')::integer,
  2, 'the next one waits 1 / (30 per minute) = 2 s, though the cap alone would say 10 per second');

-- 600 a minute: a bucket of 10, refilled 10 a run
select tests.setting('new_users_per_minute', 600);
select is(app.queue_admit(now() + interval '20 seconds'), 10, 'at 600 a minute a run admits 10');
select is(app.queue_admit(now() + interval '21 seconds'), 10, 'and the next run 10 more');

-- 0: the cap alone
select tests.setting('new_users_per_minute', 0);
select is(app.queue_admit(now() + interval '22 seconds'), 15, 'with no rate, the cap alone: the 15 left');

-- The estimate takes the slower of the two: here the cap. 6000 a minute is
-- 100 a second, but a cap of 1 token for 600 s guarantees only 1 / 600 a
-- second, and with no admission observed yet that floor is the rate.
select tests.setting('queue_active_cap', 1);
select tests.setting('active_token_seconds', 600);
select tests.setting('new_users_per_minute', 6000);
select tests.concert() as slow_concert \gset
create temp table fx_slow on commit drop as select * from tests.join_line(:slow_concert, 3);
select is((select admit_rate from app.queues where concert_id = :slow_concert), 0::double precision,
  'no admission observed on the second concert');
select is((select array_agg((app.queue_status(token, now() + interval '30 seconds') ->> 'position')::integer order by n) from fx_slow),
  array[1, 2, 3], 'three waiting, in arrival order');
select is((app.queue_status((select token from fx_slow where n = 3), now() + interval '30 seconds') ->> 'estimatedWaitSeconds')::integer,
  1800, 'the third waits 3 / (1 per 600 s) = 1800 s by the cap, not 3 / (6000 per minute) = 1 s by the rate');

select * from finish();
rollback;
