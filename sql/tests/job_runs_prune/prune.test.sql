-- api.job_runs_prune deletes the runs that started more than 7 days ago, and
-- only those.
begin;
select plan(4);

insert into app.jobs (name, schedule, command) values ('test.prune', '* * * * *', 'select 1');
insert into app.job_runs (job_id, instance, status, started_at, finished_at)
select j.job_id, 'instance-a', 'succeeded', t, t + interval '1 second'
from app.jobs j,
     unnest(array['2030-01-01 00:00:00+00', '2030-01-07 23:59:59+00',          -- older than 7 days before as_of
                  '2030-01-08 00:00:01+00', '2030-01-14 23:00:00+00']::timestamptz[]) t  -- within 7 days
where j.name = 'test.prune';
select set_config('test.old_runs', (select count(*)::text from app.job_runs
                                    where started_at < '2030-01-15 00:00:00+00'::timestamptz - interval '7 days'), true);

-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(app.job_runs_prune(as_of => '2030-01-15 00:00:00+00'), current_setting('test.old_runs')::integer,
          'returns how many runs it deleted');
set local role boxoffice_api;

reset role;
select is((select array_agg(started_at order by started_at) from app.job_runs r join app.jobs j using (job_id) where j.name = 'test.prune'),
          array['2030-01-08 00:00:01+00', '2030-01-14 23:00:00+00']::timestamptz[],
          'the runs of the last 7 days stay');
select is((select count(*)::integer from app.job_runs where started_at < '2030-01-08 00:00:00+00'), 0,
          'no run older than 7 days is left');

-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(app.job_runs_prune(as_of => '2030-01-15 00:00:00+00'), 0, 'a second prune deletes nothing');
set local role boxoffice_api;

select * from finish();
rollback;
