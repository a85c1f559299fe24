-- api.job_runs lists runs newest first, in the documented shape.
begin;
select plan(8);

insert into app.jobs (name, schedule, command) values ('test.history', '* * * * *', 'select 1');
insert into app.jobs (name, schedule, command) values ('test.history.other', '* * * * *', 'select 1');
insert into app.job_runs (job_id, instance, status, started_at, finished_at, message)
select job_id, 'instance-a', 'failed', '2090-01-01 10:00:00+00', '2090-01-01 10:00:01.5+00', 'boom'
from app.jobs where name = 'test.history';
insert into app.job_runs (job_id, instance, status, started_at)
select job_id, 'instance-b', 'running', '2090-01-01 10:00:05+00' from app.jobs where name = 'test.history';
insert into app.job_runs (job_id, instance, status, started_at, finished_at)
select job_id, 'instance-a', 'succeeded', '2090-01-01 10:00:03+00', '2090-01-01 10:00:03.25+00'
from app.jobs where name = 'test.history.other';
select set_config('test.first_run', (select min(run_id)::text from app.job_runs r join app.jobs j using (job_id) where j.name = 'test.history'), true);

set local role boxoffice_api;

select is(jsonb_array_length(api.job_runs('test.history') -> 'runs'), 2, 'only the runs of the named job');
select is(api.job_runs('test.history') -> 'runs' -> 1,
          jsonb_build_object('runId', current_setting('test.first_run')::bigint, 'job', 'test.history',
                             'instance', 'instance-a', 'status', 'failed',
                             'startedAt', '2090-01-01T10:00:00Z', 'finishedAt', '2090-01-01T10:00:01Z',
                             'durationMs', 1500, 'message', 'boom'),
          'a finished run in the documented shape');
select is(api.job_runs('test.history') -> 'runs' -> 0 ->> 'status', 'running', 'newest first');
select ok(api.job_runs('test.history') -> 'runs' -> 0 -> 'durationMs' = 'null'::jsonb, 'a running run has no duration');
select is(jsonb_array_length(api.job_runs('test.history', max_runs => 1) -> 'runs'), 1, 'max_runs limits the list');
select is((select array_agg(r ->> 'job') from jsonb_array_elements(api.job_runs(max_runs => 3) -> 'runs') r),
          array['test.history', 'test.history.other', 'test.history'], 'all jobs, newest first, without a name');
select throws_ok($$select api.job_runs('test.no_such_job')$$, 'CR105', NULL, 'an unknown job is CR105');
select throws_ok($$select api.job_runs(max_runs => 0)$$, 'CR001', NULL, 'max_runs 0 is CR001');

select * from finish();
rollback;
