-- api.payment_create with an Idempotency-Key: a replay returns the first 201 body, even after the token was
-- used up by that payment, and pays once; the same key with another body is CR204.
begin;
select plan(12);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
select tests.held_reservation(:ann, :date_id, 8) as res8 \gset

set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res, idempotency_key => 'pay-1') as paid \gset
select is(:'paid'::jsonb->>'status', 'COMPLETED', 'the first call pays');
select is(api.payment_create(:'ann_token'::uuid, :res, idempotency_key => 'pay-1'), :'paid'::jsonb,
  'a replay with the used-up token returns the same body');
select is(api.payment_create(:'ann_token'::uuid, :res, user_id => :ann, idempotency_key => 'pay-1'), :'paid'::jsonb,
  'naming the token''s own userId is the same request');
reset role;
select is(app.payment_create(:'ann_token'::uuid, :res, idempotency_key => 'pay-1', at => now() + interval '1 hour'),
  :'paid'::jsonb, 'an hour later, hold and token long gone, still the same body');
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s, idempotency_key => %L)', :'ann_token', :res8, 'pay-1'),
  'CR302', NULL, 'the same key for another reservation is no replay: the used-up token''s 410 comes first');
select throws_ok(format('select api.payment_create(%L, %s, idempotency_key => %L)', :'ann_token', :res8, 'pay-2'),
  'CR302', NULL, 'a new key goes on to the gate, which refuses the used-up token');
reset role;
select tests.active_ticket(:ann, :concert) as ann_token2 \gset
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s, idempotency_key => %L)', :'ann_token2', :res8, 'pay-1'),
  'CR204', NULL, 'with a live token, the same key for another reservation is refused');
select throws_ok(format('select api.payment_create(%L, %s, idempotency_key => %L)', :'ann_token2', 999999, 'pay-1'),
  'CR104', NULL, 'an unknown reservation is a 404 before the reused key''s 409');
reset role;
select is((select balance from app.users where user_id = :ann), 30000::bigint, 'the price was debited once');
select is((select count(*) from app.payments where user_id = :ann), 1::bigint, 'one payment');
select is((select count(*) from app.ledger where user_id = :ann and kind = 'PAYMENT'), 1::bigint, 'one PAYMENT ledger row');
select is((select count(*) from app.outbox where user_id = :ann and kind = 'payment.completed'), 1::bigint, 'one outbox event');

select * from finish();
rollback;
