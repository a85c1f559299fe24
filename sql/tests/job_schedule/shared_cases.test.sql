-- The schedules of sql/testing/cron_cases.tsv, which the scheduler's parser
-- (CronScheduleTests.swift) must judge alike: each one accepted is stored,
-- each one refused is CR001 and stores nothing. Reads the file from the
-- repository's root, where scripts/test runs pg_prove.
begin;
create temp table cron_cases (verdict text, schedule text, note text);
\copy cron_cases from program 'grep -v "^#" sql/testing/cron_cases.tsv'
grant select on cron_cases to boxoffice_owner;
select plan((select count(*)::integer + 2 from cron_cases));

set local role boxoffice_owner;

select lives_ok(format('select api.job_schedule(%L, %L, %L)', 'test.shared.' || n, schedule, 'select 1'),
                format('accepts %L (%s)', schedule, note))
from (select schedule, note, row_number() over () as n from cron_cases where verdict = 'accept') accepted;

select throws_ok(format('select api.job_schedule(%L, %L, %L)', 'test.refused', schedule, 'select 1'),
                 'CR001', NULL, format('refuses %L (%s)', schedule, note))
from cron_cases where verdict = 'refuse';

select is((select count(*)::integer from app.jobs where name like 'test.shared.%'),
          (select count(*)::integer from cron_cases where verdict = 'accept'), 'every accepted schedule is stored');
select is((select count(*)::integer from app.jobs where name = 'test.refused'), 0, 'no refused one is');

select * from finish();
rollback;
