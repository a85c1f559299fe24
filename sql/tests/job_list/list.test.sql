-- api.job_list returns every job, active or not, in the documented shape.
begin;
select plan(3);

insert into app.jobs (name, schedule, command, active) values ('test.list.on', '*/5 * * * *', 'select 1', true);
insert into app.jobs (name, schedule, command, active) values ('test.list.off', '10 seconds', 'select 2', false);
select set_config('test.on_id', (select job_id::text from app.jobs where name = 'test.list.on'), true);

set local role boxoffice_api;

select is((select j from jsonb_array_elements(api.job_list() -> 'jobs') j where j ->> 'name' = 'test.list.on'),
          jsonb_build_object('jobId', current_setting('test.on_id')::bigint, 'name', 'test.list.on',
                             'schedule', '*/5 * * * *', 'command', 'select 1', 'active', true),
          'an active job in the documented shape');
select is((select (j ->> 'active')::boolean from jsonb_array_elements(api.job_list() -> 'jobs') j
           where j ->> 'name' = 'test.list.off'), false, 'inactive jobs are listed too');
select ok((select bool_and((a ->> 'jobId')::bigint < (b ->> 'jobId')::bigint)
           from jsonb_array_elements(api.job_list() -> 'jobs') with ordinality x(a, n)
           join jsonb_array_elements(api.job_list() -> 'jobs') with ordinality y(b, m) on m = n + 1),
          'jobs are in jobId order');

select * from finish();
rollback;
