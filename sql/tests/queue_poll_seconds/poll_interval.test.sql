-- api.queue_poll_seconds, the X-Poll-Interval of a join and a poll: for a
-- WAITING ticket at position p, (ceil(p / per run) - 1) * admit_interval_seconds,
-- per run being queue_active_cap (or new_users_per_minute's burst when
-- lower), at least 1 and at most 15 (or waiting_idle_seconds / 4); in the
-- pre-queue, the seconds to the opening plus one admission interval within
-- the same bounds; the longest while admission is paused; null once ACTIVE.
begin;
select plan(18);

select tests.setting('queue_active_cap', 2);
select tests.setting('admit_interval_seconds', 3);
select tests.concert() as concert_id \gset
select * from tests.queue_line(:concert_id, 5, 'wait') \gset

set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t1')), 1, 'position 1, in the next run: 1 s');
select is(api.queue_poll_seconds(api.queue_status(:'t2')), 1, 'position 2, the last of the next run: 1 s');
select is(api.queue_poll_seconds(api.queue_status(:'t3')), 3, 'position 3 needs two runs: one interval, 3 s');
select is(api.queue_poll_seconds(api.queue_status(:'t4')), 3, 'position 4 too');
select is(api.queue_poll_seconds(api.queue_status(:'t5')), 6, 'position 5 needs three runs: 6 s');

reset role;  -- tests.* are not for boxoffice_api
select tests.setting('waiting_idle_seconds', 20);
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t5')), 5,
  'never longer than a quarter of waiting_idle_seconds, so a client that follows it keeps its place');

reset role;
select tests.setting('waiting_idle_seconds', 300);
select tests.setting('new_users_per_minute', 20);
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t2')), 3,
  'new_users_per_minute 20 admits one a run of 3 s: position 2 needs two runs');
select is(api.queue_poll_seconds(api.queue_status(:'t5')), 12, 'and position 5 five runs: 12 s');

reset role;
select tests.setting('new_users_per_minute', 30);
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t2')), 3,
  'new_users_per_minute 30 makes a burst of 1.5 a run of 3 s: one admitted a run, position 2 needs two runs');

reset role;
select tests.setting('new_users_per_minute', 0);
select api.sale_pause(:concert_id) as paused \gset
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t1')), 15, 'while admission is paused, even the front is told 15 s');
reset role;
select api.sale_resume(:concert_id) as resumed \gset
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t1')), 1, 'and 1 s again once it resumes');

reset role;
select tests.setting('admit_interval_seconds', 59);
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'t5')), 15, 'never longer than 15 s');

reset role;
select tests.setting('admit_interval_seconds', 3);
set local role boxoffice_api;
select api.queue_admit() as admitted \gset
select is(api.queue_poll_seconds(api.queue_status(:'t1')), null::integer, 'an ACTIVE ticket has nothing to wait for: null');
select is(api.queue_poll_seconds(api.queue_status(:'t3')), 1, 'and the ticket behind moves up: position 1, 1 s');

-- the pre-queue of a scheduled opening: no position; the time to the
-- opening plus one admission interval (3 s)
reset role;
select tests.concert() as later_id \gset
select api.sale_schedule(:later_id, now() + interval '5 seconds') as scheduled \gset
select token as early from tests.join_line(:later_id, 1) \gset
set local role boxoffice_api;
select is(api.queue_status(:'early') -> 'position', 'null'::jsonb, 'a pre-queued ticket has no position');
select is(api.queue_poll_seconds(api.queue_status(:'early')), 8, '5 s before the opening: 5 + 3 s');
reset role;
select api.sale_schedule(:later_id, now() + interval '1 hour') as scheduled \gset
set local role boxoffice_api;
select is(api.queue_poll_seconds(api.queue_status(:'early')), 15, 'an hour before: 15 s');
select is(app_poll.seconds, 3, 'once the opening is due, one admission interval')
from (select api.queue_poll_seconds(jsonb_build_object('status', 'WAITING', 'position', null,
        'saleOpensAt', '2000-01-01T00:00:00Z')) as seconds) app_poll;

select * from finish();
rollback;
