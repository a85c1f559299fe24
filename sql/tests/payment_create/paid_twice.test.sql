-- api.payment_create: a PAID or CANCELLED reservation is not payable (CR202), even with a fresh token.
begin;
select plan(6);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset

set local role boxoffice_api;
select is(api.payment_create(:'ann_token'::uuid, :res)->>'status', 'COMPLETED', 'the first payment passes');
reset role;

-- ann joins again and is admitted: a new ACTIVE token.
select tests.active_ticket(:ann, :concert) as ann_token2 \gset
select tests.payment_state(:ann, :res, :'ann_token2') as before \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token2', :res), 'CR202', NULL,
  'paying a PAID reservation again is refused');
reset role;
select is(tests.payment_state(:ann, :res, :'ann_token2'), :'before', 'nothing changed: charged once, token still ACTIVE');
select is((select count(*) from app.payments where reservation_id = :res), 1::bigint, 'one payment for the reservation');

-- A cancelled reservation of ann's, seat 8 free again.
select tests.reservation(:ann, :date_id, 8, 'CANCELLED') as cancelled \gset
select tests.payment_state(:ann, :cancelled, :'ann_token2') as before \gset
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token2', :cancelled), 'CR202', NULL,
  'paying a CANCELLED reservation is refused');
reset role;
select is(tests.payment_state(:ann, :cancelled, :'ann_token2'), :'before', 'nothing changed');

select * from finish();
rollback;
