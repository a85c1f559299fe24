-- The server's role (boxoffice_api) can do what the HTTP API does and no more:
-- no session setting reaches the policy, no api function it may execute takes
-- a clock, and the settings table and the functions that change it are out of
-- its reach.
begin;
select plan(9);

select * from tests.seat_world() \gset

set local role boxoffice_api;

-- Every policy name set in the session, far past what the table allows: nothing changes.
select set_config('boxoffice.' || n, '315360000', true)
from unnest(array['hold_seconds', 'active_token_seconds', 'waiting_idle_seconds', 'queue_active_cap',
                  'admit_interval_seconds', 'charge_max', 'balance_max', 'user_keys', 'max_holds_per_token',
                  'new_users_per_minute']) n \g /dev/null
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7)).body ->> 'expiresAt',
  to_char((now() + interval '300 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'SET boxoffice.hold_seconds changes nothing: the hold is the table''s 300 s');
select throws_ok(format('select api.balance_charge(%L, 1000001)', :'ann_token'), 'CR001', NULL,
  'SET boxoffice.charge_max changes nothing: 1000001 is still out of range');
select is((select count(*) from jsonb_array_elements(api.setting_list() -> 'settings') s
           where s ->> 'value' = '315360000'), 0::bigint, 'and the policy the functions read is untouched');

-- No api function boxoffice_api may execute takes a clock, nor a time of any kind.
select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by 1), '{}')
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'api' and has_function_privilege('boxoffice_api', p.oid, 'execute')
     and 'timestamptz'::regtype = any (p.proargtypes::oid[])),
  '{}'::text[], 'no api function boxoffice_api may execute takes a timestamptz argument');
select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by 1), '{}')
   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'api' and has_function_privilege('boxoffice_api', p.oid, 'execute')
     and p.proargtypes::oid[] && array['timestamp'::regtype, 'date'::regtype, 'interval'::regtype, 'time'::regtype]::oid[]),
  '{}'::text[], 'nor a timestamp, date, time or interval argument');

-- The settings table and the functions that change policy or keys are out of reach.
select throws_ok('select * from app.settings', '42501', NULL, 'boxoffice_api cannot read app.settings');
select throws_ok($$update app.settings set value = 315360000 where name = 'hold_seconds'$$, '42501', NULL,
  'nor write it');
select throws_ok($$select api.setting_set('hold_seconds', '86400')$$, '42501', NULL,
  'nor call api.setting_set');
select throws_ok(format('select api.user_key_issue(%s)', :ann), '42501', NULL,
  'nor issue a user''s key');

select * from finish();
rollback;
