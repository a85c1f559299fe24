-- A new leader marks the runs other instances left running as failed, and
-- leaves its own and finished runs alone.
begin;
select plan(6);

insert into app.jobs (name, schedule, command) values ('test.abandon', '* * * * *', 'select 1');
insert into app.job_runs (job_id, instance, status, started_at, finished_at)
select j.job_id, r.instance, r.status, now() - interval '1 minute', r.finished_at
from app.jobs j,
     (values ('test-old-leader', 'running', null::timestamptz),
             ('test-old-leader', 'starting', null),
             ('test-old-leader', 'succeeded', now() - interval '30 seconds'),
             ('test-new-leader', 'running', null)) as r(instance, status, finished_at)
where j.name = 'test.abandon';

set local role boxoffice_api;
select throws_ok($$select api.job_runs_abandon(' ')$$, 'CR001', NULL, 'a blank instance is CR001');
select cmp_ok(api.job_runs_abandon('test-new-leader'), '>=', 2, 'counts the runs it marked');

reset role;
select results_eq($$select r.instance, r.status from app.job_runs r join app.jobs j using (job_id)
                    where j.name = 'test.abandon' order by r.run_id$$,
                  $$values ('test-old-leader', 'failed'), ('test-old-leader', 'failed'),
                           ('test-old-leader', 'succeeded'), ('test-new-leader', 'running')$$,
                  'the other instance''s open runs failed; finished and own runs untouched');
select ok((select bool_and(finished_at is not null and message like 'abandoned:%')
           from app.job_runs r join app.jobs j using (job_id)
           where j.name = 'test.abandon' and r.instance = 'test-old-leader' and r.status = 'failed'),
          'the marked runs have finished_at and say why');
select is((select count(*)::integer from app.job_runs where status in ('starting', 'running') and instance <> 'test-new-leader'), 0,
          'no other instance has an open run left');

set local role boxoffice_api;
select is(api.job_runs_abandon('test-new-leader'), 0, 'a second call marks nothing');

select * from finish();
rollback;
