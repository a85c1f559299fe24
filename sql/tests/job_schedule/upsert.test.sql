-- Scheduling an existing name updates its schedule and command, like
-- cron.schedule, and keeps its id and its active flag.
begin;
select plan(5);

set local role boxoffice_owner;

select set_config('test.job_id', api.job_schedule('test.upsert', '* * * * *', 'select 1')::text, true);
select api.job_alter('test.upsert', active => false);

select is(api.job_schedule('test.upsert', '*/5 * * * *', 'select 2'),
          current_setting('test.job_id')::bigint, 'the same name returns the same job_id');
select is((select schedule from app.jobs where name = 'test.upsert'), '*/5 * * * *', 'the schedule is updated');
select is((select command from app.jobs where name = 'test.upsert'), 'select 2', 'the command is updated');
select is((select active from app.jobs where name = 'test.upsert'), false, 'the active flag is left alone');
select is((select count(*)::integer from app.jobs where name = 'test.upsert'), 1, 'still one job of that name');

select * from finish();
rollback;
