-- The DBA functions are owner only: the server's role may not change jobs.
begin;
select plan(7);

insert into app.jobs (name, schedule, command) values ('test.locked', '* * * * *', 'select 1');

set local role boxoffice_api;

select throws_ok($$select api.job_schedule('test.server', '* * * * *', 'select 1')$$, '42501', NULL,
                 'boxoffice_api may not execute api.job_schedule');
select throws_ok($$select api.job_unschedule('test.locked')$$, '42501', NULL,
                 'boxoffice_api may not execute api.job_unschedule');
select throws_ok($$select api.job_alter('test.locked', active => false)$$, '42501', NULL,
                 'boxoffice_api may not execute api.job_alter');
select lives_ok($$select api.job_list()$$, 'boxoffice_api may execute api.job_list');

reset role;
select is((select count(*)::integer from app.jobs where name = 'test.server'), 0, 'no job was added');
select is((select active from app.jobs where name = 'test.locked'), true, 'the job is unchanged');

set local role boxoffice_owner;
select lives_ok($$select api.job_schedule('test.owner', '* * * * *', 'select 1')$$, 'the owner may execute api.job_schedule');

select * from finish();
rollback;
