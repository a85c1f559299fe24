-- A new leader marks failed every open run but the ones it still has in
-- flight (keep_run_ids): other instances' runs, and runs under its own name
-- that it does not keep (a process restarted under a fixed INSTANCE_NAME);
-- finished runs stay as they are.
begin;
select plan(10);

insert into app.jobs (name, schedule, command) values ('test.abandon', '* * * * *', 'select 1');
insert into app.job_runs (job_id, instance, status, started_at, finished_at)
select j.job_id, r.instance, r.status, now() - interval '1 minute', r.finished_at
from app.jobs j,
     (values ('test-old-leader', 'running', null::timestamptz),
             ('test-old-leader', 'starting', null),
             ('test-old-leader', 'succeeded', now() - interval '30 seconds'),
             ('test-new-leader', 'running', null),    -- the predecessor's, same name: failed
             ('test-new-leader', 'running', null))    -- still in flight here: kept
       as r(instance, status, finished_at)
where j.name = 'test.abandon';

create temporary table kept on commit drop as
select max(r.run_id) as run_id from app.job_runs r join app.jobs j using (job_id) where j.name = 'test.abandon';
grant select on kept to boxoffice_api;

set local role boxoffice_api;
select throws_ok($$select api.job_runs_abandon(' ')$$, 'CR001', NULL, 'a blank instance is CR001');
select throws_ok($$select api.job_runs_abandon('test-new-leader', null)$$, 'CR001', NULL, 'a null keep_run_ids is CR001');
select throws_ok($$select api.job_runs_abandon('test-new-leader', array[null]::bigint[])$$, 'CR001', NULL,
                 'a null in keep_run_ids is CR001');
select is(api.job_runs_abandon(instance => 'test-new-leader', keep_run_ids => array[(select run_id from kept)]), 3,
          'counts the runs it marked');

reset role;
select results_eq($$select r.instance, r.status from app.job_runs r join app.jobs j using (job_id)
                    where j.name = 'test.abandon' order by r.run_id$$,
                  $$values ('test-old-leader', 'failed'), ('test-old-leader', 'failed'),
                           ('test-old-leader', 'succeeded'), ('test-new-leader', 'failed'),
                           ('test-new-leader', 'running')$$,
                  'open runs failed, its own name''s included; the kept and the finished run untouched');
select is((select r.status from app.job_runs r where r.run_id = (select run_id from kept)), 'running',
          'the run in keep_run_ids is left running');
select ok((select bool_and(finished_at is not null
                           and message = format('abandoned: instance %s stopped leading before the run finished; '
                                                'failed by the new leader test-new-leader', r.instance))
           from app.job_runs r join app.jobs j using (job_id)
           where j.name = 'test.abandon' and r.status = 'failed' and r.finished_at > now() - interval '1 second'),
          'the marked runs have finished_at and name the run''s instance and the new leader');
select is((select count(*)::integer from app.job_runs
           where status in ('starting', 'running') and run_id <> (select run_id from kept)), 0,
          'no open run is left but the kept one');

set local role boxoffice_api;
select is(api.job_runs_abandon('test-new-leader', array[(select run_id from kept)]), 0, 'a second call marks nothing');
select is(api.job_runs_abandon('test-new-leader'), 1, 'without keep_run_ids the last open run is failed too');

select * from finish();
rollback;
