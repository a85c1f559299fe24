-- api.outbox_dispatch: undispatched events go out in event_id order, each once, max_events at a time.
begin;
select plan(11);

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

-- A payment's event goes out too.
insert into app.users (name, balance) values ('ann', 80000) returning user_id as ann \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:ann, 'CHARGE', 80000, 80000, now());
insert into app.users (name, balance) values ('bob', 80000) returning user_id as bob \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:bob, 'CHARGE', 80000, 80000, now());
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 3, 2);
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '30 days') returning date_id as date_id \gset
insert into app.seats (date_id, seat_no, concert_id, price) select :date_id, n, :concert, 50000 from generate_series(1, 50) n;
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :bob, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as bob_token \gset
-- ann holds seat 7
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 7, 50000, now(), now() + interval '5 minutes') returning reservation_id as res \gset
update app.seats set status = 'HELD', user_id = :ann, reservation_id = :res, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 7;
set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res) as paid \gset
select is(api.outbox_dispatch(), 1, 'a payment''s event is handed on');
reset role;
select results_eq(
  format('select kind, payload, dispatched_at is not null from app.outbox where user_id = %s', :ann),
  format('values (%L, %L::jsonb, true)', 'payment.completed', :'paid'),
  'the payment.completed event, carrying the Payment, is marked dispatched');

select * from finish();
rollback;
