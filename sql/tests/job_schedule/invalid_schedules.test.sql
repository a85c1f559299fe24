-- A missing schedule, a blank name or a blank command is refused with CR001
-- and stores nothing. The malformed schedules, which the scheduler's parser
-- must refuse too, are in sql/testing/cron_cases.tsv (shared_cases.test.sql).
begin;
select plan(4);

set local role boxoffice_owner;

select throws_ok($$select api.job_schedule('test.invalid', null, 'select 1')$$, 'CR001', NULL, 'refuses a null schedule');
select throws_ok($$select api.job_schedule('test.invalid', '* * * * *', '  ')$$, 'CR001', NULL, 'refuses a blank command');
select throws_ok($$select api.job_schedule('  ', '* * * * *', 'select 1')$$, 'CR001', NULL, 'refuses a blank name');

select is((select count(*)::integer from app.jobs where name = 'test.invalid'), 0, 'nothing was stored');

select * from finish();
rollback;
