-- Unscheduling deletes the job and its runs; an unknown name is CR105.
begin;
select plan(6);

insert into app.jobs (name, schedule, command) values ('test.unschedule', '* * * * *', 'select 1');
insert into app.jobs (name, schedule, command) values ('test.keep', '* * * * *', 'select 1');
insert into app.job_runs (job_id, instance, status)
select job_id, 'test', 'succeeded' from app.jobs where name = 'test.unschedule';

set local role boxoffice_owner;

select throws_ok($$select api.job_unschedule('test.no_such_job')$$, 'CR105', NULL, 'an unknown job is CR105');
select throws_ok($$select api.job_unschedule(null)$$, 'CR001', NULL, 'a null name is CR001');
select is(api.job_unschedule('test.unschedule'), true, 'unscheduling returns true');
select is((select count(*)::integer from app.jobs where name = 'test.unschedule'), 0, 'the job is gone');
select is((select count(*)::integer from app.job_runs r
           where not exists (select from app.jobs j where j.job_id = r.job_id)), 0, 'its runs are gone');
select is((select count(*)::integer from app.jobs where name = 'test.keep'), 1, 'other jobs stay');

select * from finish();
rollback;
