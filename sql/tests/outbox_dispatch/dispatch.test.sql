-- api.outbox_dispatch: undispatched events go out in event_id order, each once, max_events at a time.
begin;
select plan(12);

-- Events from outside this test must not count: mark them handed on (rolled back at the end).
update app.outbox set dispatched_at = now() where dispatched_at is null;
insert into app.outbox (kind, payload) values ('test.event', '{"n": 1}') returning event_id as e1 \gset
insert into app.outbox (kind, payload) values ('test.event', '{"n": 2}') returning event_id as e2 \gset
insert into app.outbox (kind, payload) values ('test.event', '{"n": 3}') returning event_id as e3 \gset
insert into app.outbox (kind, payload, dispatched_at) values ('test.event', '{"n": 0}', '2026-01-01 00:00:00+00')
returning event_id as e0 \gset

set local role boxoffice_api;
select throws_ok('select api.outbox_dispatch(0)', 'CR001', NULL, 'max_events 0 is refused');
select throws_ok('select api.outbox_dispatch(null)', 'CR001', NULL, 'a null max_events is refused');
select is(api.outbox_dispatch(2), 2, 'max_events 2 hands on two events');
reset role;
select results_eq(
  format('select event_id from app.outbox where event_id in (%s, %s, %s) and dispatched_at is not null order by event_id', :e1, :e2, :e3),
  format('values (%s::bigint), (%s::bigint)', :e1, :e2),
  'the two oldest, in event_id order');
select is((select dispatched_at from app.outbox where event_id = :e1), now(), 'dispatched_at is set');
select is((select dispatched_at from app.outbox where event_id = :e0), '2026-01-01 00:00:00+00'::timestamptz,
  'an event dispatched before is left alone');

set local role boxoffice_api;
select is(api.outbox_dispatch(), 1, 'the next call hands on the one left');
select is(api.outbox_dispatch(), 0, 'and then there is nothing to hand on');
reset role;
select is((select count(*) from app.outbox where event_id in (:e1, :e2, :e3) and dispatched_at is null), 0::bigint,
  'all three are dispatched');

-- A payment's event goes out too: ann pays for the seat she holds (tests.payment_world()).
select * from tests.payment_world() \gset
set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res) as paid \gset
select is(api.outbox_dispatch(), 2, 'a payment''s event is handed on, after its reservation''s');
reset role;
select results_eq(
  format('select kind, payload, dispatched_at is not null from app.outbox where user_id = %s order by event_id', :ann),
  format('values (%L, (select payload from app.outbox where kind = %L and reservation_id = %s), true), (%L, %L::jsonb, true)',
         'reservation.held', 'reservation.held', :res, 'payment.completed', :'paid'),
  'the reservation.held and payment.completed events, the latter carrying the Payment, are marked dispatched');
select is(
  (select array_agg(delivery_status order by event_id) from app.outbox where user_id = :ann),
  array['PENDING', 'PENDING'],
  'a NOTIFY is not a delivery: both events are still PENDING for the webhook');

select * from finish();
rollback;
