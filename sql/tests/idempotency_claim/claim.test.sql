-- app.idempotency_claim, the prologue of every write that takes an
-- Idempotency-Key: nothing without a key; with one, the token's user claims
-- it whatever its ticket's status, the request is hashed with userId filled
-- in from the token, a stored answer comes back, another request is reported.
begin;
select plan(16);

select tests.user('ann') as ann \gset
select tests.user('bob') as bob \gset
select tests.concert() as concert_id \gset
select tests.active_ticket(:ann, :concert_id) as ann_token \gset
select tests.ended_ticket(:bob, :concert_id, 'USED') as bob_token \gset

-- no key: nothing is claimed and the token is not looked at
select is(app.idempotency_claim(null, null, 'f:1', null), row(null::integer, null::jsonb, false),
  'no key: no answer, not reused, even without a token');
select is((select count(*)::integer from app.idempotency_keys), 0, 'and no key is stored');

-- a key: the token is checked first (given, known), then the key
select throws_ok('select app.idempotency_claim(null, ''k'', ''f:1'', null)', 'CR300', NULL, 'a key without a token is CR300');
select throws_ok(format('select app.idempotency_claim(%L, %L, %L, null)', gen_random_uuid(), 'k', 'f:1'), 'CR301', NULL,
  'a key with an unknown token is CR301');
select throws_ok(format('select app.idempotency_claim(%L, %L, %L, null)', gen_random_uuid(), E'bad\tkey', 'f:1'), 'CR301', NULL,
  'an unknown token is reported before a malformed key');
select throws_ok(format('select app.idempotency_claim(%L, %L, %L, null)', :'ann_token', E'bad\tkey', 'f:1'), 'CR001', NULL,
  'a key with a control character is CR001');
select throws_ok(format('select app.idempotency_claim(%L, %L, %L, null)', :'ann_token', repeat('k', 256), 'f:1'), 'CR001', NULL,
  'a key of 256 characters is CR001');
select throws_ok(format('select app.idempotency_claim(%L, %L, %L, null)', :'ann_token', '', 'f:1'), 'CR001', NULL,
  'an empty key is CR001');

-- the first claim: no answer yet; the row is the token's user's
select is(app.idempotency_claim(:'ann_token', 'k1', 'f:1', null), row(null::integer, null::jsonb, false),
  'a new key is claimed: no answer');
select is((select k.user_id from app.idempotency_keys k where k.key = 'k1'), :ann::bigint, 'for the token''s user');
select is((select k.request_hash from app.idempotency_keys k where k.key = 'k1'), md5('f:1:' || :ann),
  'the request is hashed with the token''s user as its userId');
select app.idempotency_finish(:ann, 'k1', 201, '{"done": true}');

-- later claims of the same key
select is(app.idempotency_claim(:'ann_token', 'k1', 'f:1', null), row(201, '{"done": true}'::jsonb, false),
  'the same request gets the stored answer');
select is(app.idempotency_claim(:'ann_token', 'k1', 'f:1', :ann), row(201, '{"done": true}'::jsonb, false),
  'naming the token''s own user is the same request');
select is(app.idempotency_claim(:'ann_token', 'k1', 'f:2', null), row(null::integer, null::jsonb, true),
  'another request under the key is reported reused, with no answer');
select is(app.idempotency_claim(:'ann_token', 'k1', 'f:1', :bob), row(null::integer, null::jsonb, true),
  'so is the same call naming another user');

-- a used-up ticket still claims: a replay is answered before the gate
select is(app.idempotency_claim(:'bob_token', 'k1', 'f:1', null), row(null::integer, null::jsonb, false),
  'a used-up token claims its user''s key (keys are per user)');

select * from finish();
rollback;
