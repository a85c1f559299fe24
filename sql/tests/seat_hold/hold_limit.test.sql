-- api.seat_hold: at most MAX_HOLDS_PER_TOKEN live holds per token.
begin;
select plan(6);

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

select * from finish();
rollback;
