-- api.setting_set: the one door to the policy, validated by the table.
begin;
select plan(9);

select is(api.setting_set('hold_seconds', '120'), '{"name": "hold_seconds", "value": "120"}'::jsonb,
  'a DBA sets hold_seconds');
select is(app.setting('hold_seconds', 300), 120::bigint, 'and every function reads it at once');
select throws_ok($$select api.setting_set('hold_seconds', '0')$$, 'CR001', NULL, 'a value out of range is refused');
select throws_ok($$select api.setting_set('hold_seconds', 'ten')$$, 'CR001', NULL, 'so is one that is not a number');
select throws_ok($$select api.setting_set('no_such_setting', '1')$$, 'CR001', NULL, 'and an unknown name');
select throws_ok($$insert into app.settings (name, value) values ('hold_seconds2', 5)$$, '23514', NULL,
  'the table itself refuses a name it does not know');
select is(api.setting_set('user_keys', 'optional') ->> 'value', 'optional', 'user_keys reads required/optional');
select is(api.setting_set('admit_interval_seconds', '3') ->> 'value', '3', 'a DBA sets admit_interval_seconds');
select is((select schedule from app.jobs where name = 'queue_admit'), '3 seconds',
  'which reschedules the queue_admit job every instance runs');

select * from finish();
rollback;
