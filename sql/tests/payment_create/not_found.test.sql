-- api.payment_create: an unknown reservation is CR104, after the token checks (a token error comes before a 404) and after CR001.
begin;
select plan(9);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
-- cat is WAITING, with a ticket given up before.
select tests.user('cat') as cat \gset
select tests.waiting_ticket(:cat, :concert) as cat_token \gset
select tests.ended_ticket(:cat, :concert, 'LEFT') as left_token \gset
select coalesce(max(reservation_id), 0) + 1000 as missing from app.reservations \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :missing), 'CR104', NULL,
  'an unknown reservation is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'ann_token', :missing, :ann), 'CR104', NULL,
  'with the right userId too');
select throws_ok(format('select api.payment_create(%L, %s)', gen_random_uuid(), :missing), 'CR301', NULL,
  'an unknown token wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, %s)', :'left_token', :missing), 'CR302', NULL,
  'a given-up token wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, %s)', :'cat_token', :missing), 'CR303', NULL,
  'a WAITING token wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'ann_token', :missing, :bob), 'CR304', NULL,
  'a userId not the token''s wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, null)', :'ann_token'), 'CR001', NULL,
  'a missing reservationId is refused');
select throws_ok(format('select api.payment_create(%L, null)', gen_random_uuid()), 'CR001', NULL,
  'before the token is checked');
reset role;
select is((select balance from app.users where user_id = :ann), 80000::bigint, 'nothing was charged');

select * from finish();
rollback;
