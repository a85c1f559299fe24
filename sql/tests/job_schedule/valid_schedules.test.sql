-- A schedule is stored as given, trimmed, with its command. Every form both
-- parsers accept is in sql/testing/cron_cases.tsv (shared_cases.test.sql).
begin;
select plan(4);

set local role boxoffice_owner;

select lives_ok($$select api.job_schedule('test.valid.seconds', '  5 SECONDS  ', 'select 1')$$, 'accepts a padded seconds schedule');
select lives_ok($$select api.job_schedule('test.valid.cron', '0 12 * JAN,JUL SUN', 'select 2')$$, 'accepts a cron schedule');
select is((select schedule from app.jobs where name = 'test.valid.seconds'), '5 SECONDS', 'the schedule is stored trimmed');
select is((select schedule || ' / ' || command from app.jobs where name = 'test.valid.cron'),
          '0 12 * JAN,JUL SUN / select 2', 'the schedule and the command are stored as given');

select * from finish();
rollback;
