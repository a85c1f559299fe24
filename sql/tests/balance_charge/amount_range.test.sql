-- api.balance_charge: amount must be 1..charge_max, checked first; a refused charge changes nothing.
begin;
select plan(11);

select tests.user('ann', 100) as ann \gset
select tests.concert() as concert \gset
select tests.active_ticket(:ann, :concert) as ann_token \gset

set local role boxoffice_api;

select throws_ok(format('select api.balance_charge(%L, 0)', :'ann_token'), 'CR001', NULL, 'amount 0 is refused');
select throws_ok(format('select api.balance_charge(%L, -1)', :'ann_token'), 'CR001', NULL, 'amount -1 is refused');
select throws_ok(format('select api.balance_charge(%L, null)', :'ann_token'), 'CR001', NULL, 'a null amount is refused');
select throws_ok(format('select api.balance_charge(%L, 1000001)', :'ann_token'), 'CR001', NULL,
  'an amount above the default charge_max (1000000) is refused');
select throws_ok(format('select api.balance_charge(%L, 0)', gen_random_uuid()), 'CR001', NULL,
  'the amount is checked before the token');
select throws_ok(format('select api.balance_charge(%L, 0, idempotency_key => %L)', gen_random_uuid(), 'k1'), 'CR001', NULL,
  'and before the idempotency key');

reset role;
select is((select balance from app.users where user_id = :ann), 100::bigint, 'refused charges left the balance alone');
select is((select count(*) from app.ledger where user_id = :ann), 1::bigint, 'and wrote no ledger row');

select tests.setting('charge_max', 500);
set local role boxoffice_api;
select throws_ok(format('select api.balance_charge(%L, 501)', :'ann_token'), 'CR001', NULL,
  'charge_max is read from the setting');
select is(api.balance_charge(:'ann_token'::uuid, 500)->'balance', '600'::jsonb, 'a charge of exactly charge_max passes');
select is(api.balance_charge(:'ann_token'::uuid, 1)->'balance', '601'::jsonb, 'a charge of 1 passes');

select * from finish();
rollback;
