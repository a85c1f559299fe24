-- api.job_run_finish closes a run as succeeded or failed, with its message.
begin;
select plan(10);

insert into app.jobs (name, schedule, command) values ('test.finish', '* * * * *', 'select 1');
insert into app.job_runs (job_id, instance, status, started_at)
select job_id, 'instance-a', 'running', now() - interval '2 seconds' from app.jobs where name = 'test.finish';
insert into app.job_runs (job_id, instance, status, started_at)
select job_id, 'instance-a', 'running', now() - interval '2 seconds' from app.jobs where name = 'test.finish';
select set_config('test.ok_run', (select min(run_id)::text from app.job_runs r join app.jobs j using (job_id) where j.name = 'test.finish'), true);
select set_config('test.bad_run', (select max(run_id)::text from app.job_runs r join app.jobs j using (job_id) where j.name = 'test.finish'), true);

set local role boxoffice_api;
select lives_ok(format('select api.job_run_finish(%s, true)', current_setting('test.ok_run')), 'finishes a run as succeeded');
select lives_ok(format('select api.job_run_finish(%s, false, %L)', current_setting('test.bad_run'), repeat('x', 1500)),
                'finishes a run as failed with a long message');
select throws_ok(format('select api.job_run_finish(%s, true)', current_setting('test.ok_run')), 'CR001', NULL,
                 'finishing a finished run is CR001');
select throws_ok('select api.job_run_finish(-1, true)', 'CR105', NULL, 'an unknown run is CR105');
select throws_ok(format('select api.job_run_finish(%s, null)', current_setting('test.ok_run')), 'CR001', NULL,
                 'a null succeeded is CR001');

reset role;
select results_eq(format('select status, message from app.job_runs where run_id = %s', current_setting('test.ok_run')),
                  $$values ('succeeded', null::text)$$, 'the first run succeeded');
select ok((select finished_at >= started_at + interval '2 seconds' and finished_at > now()
           from app.job_runs where run_id = current_setting('test.ok_run')::bigint),
          'finished_at is the clock time');
select is((select status from app.job_runs where run_id = current_setting('test.bad_run')::bigint), 'failed',
          'the second run failed');
select is((select message from app.job_runs where run_id = current_setting('test.bad_run')::bigint), repeat('x', 1000),
          'the message is cut to 1000 characters');
select is((select count(*)::integer from app.job_runs where run_id in (current_setting('test.ok_run')::bigint,
                                                                          current_setting('test.bad_run')::bigint)
           and finished_at is null), 0, 'both runs have finished_at');

select * from finish();
rollback;
