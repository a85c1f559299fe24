-- Every form pg_cron accepts is accepted and stored as given (trimmed).
begin;
select plan(25);

set local role boxoffice_owner;

select lives_ok(format('select api.job_schedule(%L, %L, %L)', 'test.valid.' || n, s, 'select 1'),
                format('accepts %L', s))
from unnest(array[
  '*/15 * * * *',
  '0 0 1 * *',
  '30 9 * * MON-FRI',
  '0 12 * JAN,JUL SUN',
  '0,15,30,45 8-18 * * 1-5',
  '0-30/10 */2 1-15/7 */3 *',
  '5 4 * * sun',
  '0 0 29 feb *',
  '0 0 * * 7',
  '0 12 $ * *',
  '59 23 31 12 6',
  '10 seconds',
  '1 second',
  '59 seconds',
  '  5 SECONDS  ',
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly'
]) with ordinality as t(s, n);

select is((select count(*)::integer from app.jobs where name like 'test.valid.%'), 22, 'all 22 jobs are stored');
select is((select schedule from app.jobs where name = 'test.valid.15'), '5 SECONDS', 'the schedule is stored trimmed');
select is((select command from app.jobs where name = 'test.valid.1'), 'select 1', 'the command is stored');

select * from finish();
rollback;
