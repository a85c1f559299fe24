-- api.balance_get: the token's user's balance, for any live token.
begin;
select plan(6);

select tests.user('ann', 1234) as ann \gset
select tests.user('bob') as bob \gset
select tests.concert() as concert \gset
select tests.active_ticket(:ann, :concert) as ann_token \gset
select tests.waiting_ticket(:bob, :concert) as bob_token \gset
select tests.ended_ticket(:ann, :concert, 'USED') as used_token \gset

set local role boxoffice_api;

select is(api.balance_get(:'ann_token'::uuid), jsonb_build_object('userId', :ann, 'balance', 1234),
  'an ACTIVE token reads its user''s balance');
select is(api.balance_get(:'bob_token'::uuid), jsonb_build_object('userId', :bob, 'balance', 0),
  'a WAITING token reads its user''s balance');
select throws_ok(format('select api.balance_get(%L)', gen_random_uuid()), 'CR301', NULL,
  'an unknown token is refused');
select throws_ok(format('select api.balance_get(%L)', :'used_token'), 'CR302', NULL,
  'a used-up token is refused');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.balance_get(%L, %L)', :'ann_token', now() + interval '11 minutes'), 'CR302', NULL,
  'an ACTIVE token past its expiry is refused');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.balance_get(%L, %L)', :'bob_token', now() + interval '6 minutes'), 'CR302', NULL,
  'a WAITING token idle past waiting_idle_seconds is refused');
set local role boxoffice_api;

select * from finish();
rollback;
