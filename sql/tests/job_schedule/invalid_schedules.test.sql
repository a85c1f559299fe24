-- Malformed schedules, names and commands are refused with CR001 and store nothing.
begin;
select plan(37);

set local role boxoffice_owner;

select throws_ok(format('select api.job_schedule(%L, %L, %L)', 'test.invalid', s, 'select 1'),
                 'CR001', NULL, format('refuses schedule %L', s))
from unnest(array[
  '60 * * * *',        -- minute out of range
  '* 24 * * *',        -- hour out of range
  '0 0 32 * *',        -- day of month out of range
  '0 0 0 * *',
  '0 0 * 13 *',        -- month out of range
  '0 0 * * 8',         -- day of week out of range
  '* * * *',           -- four fields
  '* * * * * *',       -- six fields
  '1-',
  '1- * * * *',        -- range without an end
  '*/0',
  '*/0 * * * *',       -- step zero
  '*/60 * * * *',      -- step beyond the field
  '1/20 * * * *',      -- step without a range (pg_cron refuses it too)
  '5-1 * * * *',       -- backwards range
  '* * * * FRI-SUN',
  '1,,2 * * * *',      -- empty list item
  '*/5/2 * * * *',
  '0-59/x * * * *',
  'blah',
  'blah * * * *',
  '* * * FOO *',
  '* * * * MONDAY',
  '* * MON * *',       -- names only in their own field
  '* * $,1 * *',
  '$ * * * *',
  '0 seconds',
  '60 seconds',
  '10 minutes',
  '@reboot',
  '@DAILY',
  '@fortnightly',
  ''
]) as t(s);

select throws_ok($$select api.job_schedule('test.invalid', null, 'select 1')$$, 'CR001', NULL, 'refuses a null schedule');
select throws_ok($$select api.job_schedule('test.invalid', '* * * * *', '  ')$$, 'CR001', NULL, 'refuses a blank command');
select throws_ok($$select api.job_schedule('  ', '* * * * *', 'select 1')$$, 'CR001', NULL, 'refuses a blank name');

select is((select count(*)::integer from app.jobs where name = 'test.invalid'), 0, 'nothing was stored');

select * from finish();
rollback;
