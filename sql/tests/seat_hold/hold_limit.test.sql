-- api.seat_hold: at most MAX_HOLDS_PER_TOKEN live holds per token.
begin;
select plan(9);

select * from tests.seat_world() \gset
select tests.setting('max_holds_per_token', 2);

set local role boxoffice_api;
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 1)).status, 201, 'first hold');
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date2, 2)).status, 201, 'second hold, on another date');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 3)', :'ann_token', :concert, :date1), 'CR206', NULL,
  'a third is HOLD_LIMIT');
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 1)).status, 200,
  'asking again for a seat already held is still answered (200), limit or not');
select api.reservation_cancel(:'ann_token'::uuid, ((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 1)).body ->> 'reservationId')::bigint) \g /dev/null
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 3)).status, 201, 'a cancelled hold makes room');
reset role;
-- a lapsed hold does not count
update app.reservations set expires_at = now() - interval '1 second' where user_id = :ann and status = 'HELD';
update app.seats set hold_expires_at = now() - interval '1 second' where user_id = :ann and status = 'HELD';
set local role boxoffice_api;
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 4)).status, 201, 'lapsed holds do not count');

-- A hold outlives the token it was made with: bob pays one of two holds,
-- which uses his token up, and joins again; his next token may pay the
-- other hold, so it starts with it.
select api.balance_charge(:'bob_token'::uuid, 10000) \g /dev/null
select (api.seat_hold(:'bob_token'::uuid, :concert, :date1, 10)).body ->> 'reservationId' as bob_paid \gset
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 11)).status, 201, 'bob holds a second seat');
select api.payment_create(:'bob_token'::uuid, :bob_paid::bigint) \g /dev/null
reset role;
select tests.active_ticket(:bob, :concert) as bob_token2 \gset
set local role boxoffice_api;
select is((api.seat_hold(:'bob_token2'::uuid, :concert, :date2, 12)).status, 201,
  'a new token of bob: one hold from his used-up token, room for one more');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 13)', :'bob_token2', :concert, :date2), 'CR206',
  'hold limit',
  'the hold made with the earlier token counts against the new one');

select * from finish();
rollback;
