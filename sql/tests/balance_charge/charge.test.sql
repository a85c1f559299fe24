-- api.balance_charge: adds to the balance, writes a CHARGE ledger row, answers the new balance.
begin;
select plan(13);

select tests.user('ann') as ann \gset
select tests.user('bob') as bob \gset
select tests.concert() as concert \gset
select tests.active_ticket(:ann, :concert) as ann_token \gset
select tests.waiting_ticket(:bob, :concert) as bob_token \gset
select tests.ended_ticket(:ann, :concert, 'USED') as used_token \gset

set local role boxoffice_api;

select is(api.balance_charge(:'ann_token'::uuid, 5000), jsonb_build_object('userId', :ann, 'balance', 5000),
  'a charge answers the new balance');
select is(api.balance_charge(:'ann_token'::uuid, 700, user_id => :ann), jsonb_build_object('userId', :ann, 'balance', 5700),
  'a second charge adds to it (userId naming the token''s user is accepted)');
select is(api.balance_charge(:'bob_token'::uuid, 1), jsonb_build_object('userId', :bob, 'balance', 1),
  'a WAITING token may charge');
select throws_ok(format('select api.balance_charge(%L, 10, user_id => %s)', :'ann_token', :bob), 'CR304', NULL,
  'a userId other than the token''s user is refused');
select throws_ok(format('select api.balance_charge(%L, 10)', gen_random_uuid()), 'CR301', NULL,
  'an unknown token is refused');
select throws_ok(format('select api.balance_charge(%L, 10)', :'used_token'), 'CR302', NULL,
  'a used-up token is refused');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.balance_charge(%L, 10, as_of => %L)', :'ann_token', now() + interval '11 minutes'),
  'CR302', NULL, 'an expired ACTIVE token is refused');
set local role boxoffice_api;

reset role;
select is((select balance from app.users where user_id = :ann), 5700::bigint, 'the balance holds both charges');
select is((select balance from app.users where user_id = :bob), 1::bigint, 'the other user''s balance holds theirs');
select results_eq(
  format('select kind, amount, balance_after, payment_id from app.ledger where user_id = %s order by entry_id', :ann),
  $$values ('CHARGE', 5000::bigint, 5000::bigint, null::bigint), ('CHARGE', 700::bigint, 5700::bigint, null::bigint)$$,
  'each charge wrote one CHARGE ledger row with the balance after it');
select is((select created_at from app.ledger where user_id = :ann order by entry_id limit 1), now(),
  'the ledger row is stamped with the database clock');

-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(app.balance_charge(:'ann_token'::uuid, 300, as_of => now() + interval '1 minute')->'balance', '6000'::jsonb,
  'as_of moves the clock');
select is((select created_at from app.ledger where user_id = :ann order by entry_id desc limit 1), now() + interval '1 minute',
  'and stamps the ledger row with it');

select * from finish();
rollback;
