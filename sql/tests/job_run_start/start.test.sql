-- api.job_run_start records a running run at clock time.
begin;
select plan(7);

insert into app.jobs (name, schedule, command) values ('test.start', '* * * * *', 'select 1');
select set_config('test.job_id', (select job_id::text from app.jobs where name = 'test.start'), true);
select pg_sleep(0.01);

set local role boxoffice_api;
select set_config('test.run_id', api.job_run_start(current_setting('test.job_id')::bigint, 'instance-a')::text, true);
select throws_ok($$select api.job_run_start(-1, 'instance-a')$$, 'CR105', NULL, 'an unknown job is CR105');
select throws_ok(format('select api.job_run_start(%s, %L)', current_setting('test.job_id'), ' '), 'CR001', NULL,
                 'a blank instance is CR001');
select throws_ok($$select api.job_run_start(null, 'instance-a')$$, 'CR001', NULL, 'a null job_id is CR001');

reset role;
select results_eq(format('select job_id, instance, status, finished_at, message from app.job_runs where run_id = %s',
                         current_setting('test.run_id')),
                  format($$values (%s::bigint, 'instance-a', 'running', null::timestamptz, null::text)$$,
                         current_setting('test.job_id')),
                  'one running run for the job and instance');
select ok((select started_at > now() from app.job_runs where run_id = current_setting('test.run_id')::bigint),
          'started_at is the clock time, not the transaction start');
select ok((select started_at <= clock_timestamp() from app.job_runs where run_id = current_setting('test.run_id')::bigint),
          'started_at is not in the future');
select is((select count(*)::integer from app.job_runs where job_id = current_setting('test.job_id')::bigint), 1,
          'failed calls recorded nothing');

select * from finish();
rollback;
