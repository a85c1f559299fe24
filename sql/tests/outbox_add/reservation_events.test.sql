-- Every change a receiver must hear of writes one outbox event in its own transaction, with the reservation as the
-- key that orders delivery: reservation.held (api.seat_hold), reservation.cancelled (api.reservation_cancel),
-- reservation.expired (api.holds_expire, and a takeover of a lapsed hold), payment.completed (api.payment_create).
begin;
select plan(10);

select * from tests.payment_world() \gset
select tests.active_ticket(tests.user('cid', 0), :concert) as cid_token \gset

set local role boxoffice_api;
select (api.seat_hold(:'bob_token'::uuid, :concert, :date_id, 9)).body as held \gset
reset role;
select results_eq(
  format('select kind, user_id, reservation_id, payload, delivery_status, attempts from app.outbox where reservation_id = %s',
         (:'held'::jsonb->>'reservationId')::bigint),
  format('values (%L, %s::bigint, %s::bigint, %L::jsonb, %L, 0)', 'reservation.held', :bob,
         (:'held'::jsonb->>'reservationId')::bigint, :'held', 'PENDING'),
  'a hold writes reservation.held carrying the Reservation, PENDING for the webhook');

set local role boxoffice_api;
select (api.seat_hold(:'bob_token'::uuid, :concert, :date_id, 9)).body as again \gset
reset role;
select is((select count(*) from app.outbox where reservation_id = (:'held'::jsonb->>'reservationId')::bigint), 1::bigint,
  'holding the same seat again (200) writes nothing');

set local role boxoffice_api;
select api.reservation_cancel(:'bob_token'::uuid, (:'held'::jsonb->>'reservationId')::bigint) as cancelled \gset
reset role;
select results_eq(
  format('select kind, payload from app.outbox where reservation_id = %s order by event_id',
         (:'held'::jsonb->>'reservationId')::bigint),
  format('values (%L, %L::jsonb), (%L, %L::jsonb)', 'reservation.held', :'held', 'reservation.cancelled', :'cancelled'),
  'a cancel writes reservation.cancelled after it, carrying the cancelled Reservation');

-- A lapsed hold expired by the job.
select tests.held_reservation(:bob, :date_id, 11, held_at => now() - interval '6 minutes') as lapsed \gset
set local role boxoffice_api;
select api.holds_expire() > 0 as expired_some \gset
reset role;
select results_eq(
  format('select kind, payload->>''status'' from app.outbox where reservation_id = %s order by event_id', :lapsed),
  $$values ('reservation.held', 'HELD'), ('reservation.expired', 'EXPIRED')$$,
  'api.holds_expire writes reservation.expired');

-- A lapsed hold taken over by another user: the old reservation expires, the new one is held.
select tests.held_reservation(:bob, :date_id, 12, held_at => now() - interval '6 minutes') as taken \gset
set local role boxoffice_api;
select (api.seat_hold(:'cid_token'::uuid, :concert, :date_id, 12)).body as took \gset
reset role;
select results_eq(
  format('select kind from app.outbox where reservation_id = %s order by event_id', :taken),
  $$values ('reservation.held'), ('reservation.expired')$$,
  'a takeover of a lapsed hold writes reservation.expired for the old reservation');
select is(
  (select kind from app.outbox where reservation_id = (:'took'::jsonb->>'reservationId')::bigint),
  'reservation.held', 'and reservation.held for the new one');

-- The payment of ann's hold: payment.completed keyed by the reservation, after its reservation.held.
set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res) as paid \gset
reset role;
select results_eq(
  format('select kind from app.outbox where reservation_id = %s order by event_id', :res),
  $$values ('reservation.held'), ('payment.completed')$$,
  'a payment writes payment.completed keyed by its reservation, after reservation.held');
select is((select payload from app.outbox where reservation_id = :res and kind = 'payment.completed'), :'paid'::jsonb,
  'carrying the Payment');

-- A rolled-back hold leaves no event.
select count(*) as before from app.outbox \gset
savepoint s;
set local role boxoffice_api;
select api.seat_hold(:'cid_token'::uuid, :concert, :date_id, 20);
reset role;
rollback to savepoint s;
select is((select count(*) from app.outbox), :before::bigint, 'an event exists only if its change committed');

select is(
  (select count(distinct webhook_id) from app.outbox), (select count(*) from app.outbox),
  'every event has a webhook_id of its own');

select * from finish();
rollback;
