-- api.balance_charge with an Idempotency-Key: a replay returns the first answer, before any check, and charges once.
begin;
select plan(13);

select tests.user('ann') as ann \gset
select tests.user('bob') as bob \gset
select tests.concert() as concert \gset
select tests.active_ticket(:ann, :concert) as ann_token \gset
select tests.active_ticket(:bob, :concert) as bob_token \gset

set local role boxoffice_api;

select api.balance_charge(:'ann_token'::uuid, 1000, idempotency_key => 'charge-1') as first \gset
select is(:'first'::jsonb, jsonb_build_object('userId', :ann, 'balance', 1000), 'the first call charges');
select is(api.balance_charge(:'ann_token'::uuid, 1000, idempotency_key => 'charge-1'), :'first'::jsonb,
  'a replay returns the same body');
select is(api.balance_charge(:'ann_token'::uuid, 1000, user_id => :ann, idempotency_key => 'charge-1'), :'first'::jsonb,
  'naming the token''s own userId is the same request');
select throws_ok(format('select api.balance_charge(%L, 2000, idempotency_key => %L)', :'ann_token', 'charge-1'),
  'CR204', NULL, 'the same key with another amount is refused');
select is(api.balance_charge(:'bob_token'::uuid, 50, idempotency_key => 'charge-1')->'balance', '50'::jsonb,
  'keys are per user: another user''s same key is a new request');
select is(api.balance_charge(:'bob_token'::uuid, 5, idempotency_key => 'two words')->'balance', '55'::jsonb,
  'a key may hold spaces: any printable ASCII');

reset role;
select is((select balance from app.users where user_id = :ann), 1000::bigint, 'the balance was charged once');
select is((select count(*) from app.ledger where user_id = :ann), 1::bigint, 'one ledger row');

-- The token dies; the replay is still answered.
update app.queue_tickets set status = 'EXPIRED', ended_at = now() where token = :'ann_token';
set local role boxoffice_api;
select is(api.balance_charge(:'ann_token'::uuid, 1000, idempotency_key => 'charge-1'), :'first'::jsonb,
  'a replay is answered before the token is checked');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', :'ann_token', 'charge-2'),
  'CR302', NULL, 'a new key with a dead token goes on to the gate');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', :'ann_token', E'bad\tkey'),
  'CR001', NULL, 'a malformed key (a tab in it) is refused');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', :'ann_token', repeat('k', 256)),
  'CR001', NULL, 'a key of 256 characters is refused');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', gen_random_uuid(), 'charge-1'),
  'CR301', NULL, 'a key with an unknown token is refused');

select * from finish();
rollback;
