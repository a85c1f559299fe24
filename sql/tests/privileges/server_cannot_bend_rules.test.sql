-- The server's role (boxoffice_api) can do what the HTTP API does and no more:
-- no session setting reaches the policy, no api function it may execute takes
-- a clock, and the settings table and the functions that change it are out of
-- its reach.
begin;
select plan(17);

select * from tests.seat_world() \gset
-- The policy in the table, each value far below what the session will ask for.
select tests.setting('max_holds_per_token', 1);
select tests.setting('charge_max', 600);
select tests.setting('balance_max', 1000);
select tests.setting('queue_active_cap', 1);
select tests.setting('active_token_seconds', 120);
select tests.user('queue one') as q1, tests.user('queue two') as q2, tests.concert() as queue_concert \gset
-- cid's WAITING ticket last polled 400 s ago: past the table's 300 s of waiting_idle_seconds.
update app.queue_tickets set last_seen_at = now() - interval '400 seconds' where token = :'cid_token';

set local role boxoffice_api;

-- Every policy name set in the session, far past what the table allows (for
-- user_keys, a value that is not "required"): nothing changes.
select set_config('boxoffice.' || n, '315360000', true)
from unnest(array['hold_seconds', 'active_token_seconds', 'waiting_idle_seconds', 'queue_active_cap',
                  'admit_interval_seconds', 'charge_max', 'balance_max', 'user_keys', 'max_holds_per_token',
                  'new_users_per_minute']) n \g /dev/null
-- user_keys: 0, the value that would make keys optional if a session could set it.
select set_config('boxoffice.user_keys', '0', true) \g /dev/null

select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7)).body ->> 'expiresAt',
  to_char((now() + interval '300 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'SET boxoffice.hold_seconds changes nothing: the hold is the table''s 300 s');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 8)', :'ann_token', :concert, :date1), 'CR206', NULL,
  'SET boxoffice.max_holds_per_token changes nothing: a second hold passes the table''s 1');

select throws_ok(format('select api.balance_charge(%L, 601)', :'ann_token'), 'CR001', NULL,
  'SET boxoffice.charge_max changes nothing: 601 is past the table''s 600');
select is(api.balance_charge(:'ann_token'::uuid, 600) -> 'balance', '600'::jsonb, '(600 is within it)');
select throws_ok(format('select api.balance_charge(%L, 401)', :'ann_token'), 'CR203', NULL,
  'SET boxoffice.balance_max changes nothing: 1001 is past the table''s 1000');
select is(api.balance_charge(:'ann_token'::uuid, 400) -> 'balance', '1000'::jsonb, '(1000 is within it)');

select throws_ok(format('select api.queue_status(%L)', :'cid_token'), 'CR302', NULL,
  'SET boxoffice.waiting_idle_seconds changes nothing: a ticket idle for 400 s is past the table''s 300');

-- Two join a fresh concert; one admission run.
select (api.queue_join(:q1, :queue_concert)).body ->> 'token' as q1_token \gset
select (api.queue_join(:q2, :queue_concert)).body ->> 'token' as q2_token \gset
select api.queue_admit() \g /dev/null
select is(array[api.queue_status(:'q1_token') ->> 'status', api.queue_status(:'q2_token') ->> 'status'],
  array['ACTIVE', 'WAITING'],
  'SET boxoffice.queue_active_cap changes nothing: the run admits the table''s 1, the first in line');
select is(api.queue_status(:'q1_token') ->> 'expiresAt',
  to_char((now() + interval '120 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'SET boxoffice.active_token_seconds changes nothing: the admitted ticket lives the table''s 120 s');

-- The admission rate: 60 a minute with runs 1 s apart is a bucket of 1 per
-- run in the table; the session's values would make it millions.
reset role;
select tests.setting('queue_active_cap', 100);
select tests.setting('new_users_per_minute', 60);
select tests.user('rate one') as r1, tests.user('rate two') as r2, tests.user('rate three') as r3,
       tests.concert() as rate_concert \gset
set local role boxoffice_api;
select (api.queue_join(:r1, :rate_concert)).body ->> 'token' as r1_token \gset
select (api.queue_join(:r2, :rate_concert)).body ->> 'token' as r2_token \gset
select (api.queue_join(:r3, :rate_concert)).body ->> 'token' as r3_token \gset
select api.queue_admit() \g /dev/null
select is(array[api.queue_status(:'r1_token') ->> 'status', api.queue_status(:'r2_token') ->> 'status',
                api.queue_status(:'r3_token') ->> 'status'],
  array['ACTIVE', 'WAITING', 'WAITING'],
  'SET boxoffice.new_users_per_minute and admit_interval_seconds change nothing: the run admits the table''s 1');

-- Keys required in the table: the session's value does not make them optional.
reset role;
select tests.setting('user_keys', 1);
set local role boxoffice_api;
select throws_ok(format('select api.queue_join(%s, %s)', :bob, :queue_concert), 'CR305', NULL,
  'SET boxoffice.user_keys changes nothing: a join without a key is refused when the table requires one');

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
