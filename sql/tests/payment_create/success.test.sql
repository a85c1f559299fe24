-- api.payment_create: paying a held seat debits the price, sells the seat, writes payment, ledger and outbox rows,
-- and uses up the token.
begin;
select plan(21);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
select coalesce(max(event_id), 0) as last_event from app.outbox \gset

set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res, user_id => :ann) as paid \gset
reset role;

select is(:'paid'::jsonb - 'paymentId',
  jsonb_build_object('reservationId', :res, 'userId', :ann, 'concertId', :concert, 'dateId', :date_id, 'seatNo', 7,
                     'amount', 50000, 'status', 'COMPLETED', 'paidAt', app.iso(now())),
  'the answer is the Payment');
select ok(jsonb_typeof(:'paid'::jsonb->'paymentId') = 'number', 'paymentId is a number');
select (:'paid'::jsonb->>'paymentId')::bigint as pay \gset

select is((select balance from app.users where user_id = :ann), 30000::bigint, 'the price was debited');
select results_eq(
  format('select status, user_id, reservation_id, hold_expires_at from app.seats where date_id = %s and seat_no = 7', :date_id),
  format('values (%L, %s::bigint, %s::bigint, null::timestamptz)', 'SOLD', :ann, :res),
  'the seat is SOLD to the user through the reservation, with no hold time');
select results_eq(
  format('select status, ended_at, expires_at from app.reservations where reservation_id = %s', :res),
  $$values ('PAID', now(), now() + interval '5 minutes')$$,
  'the reservation is PAID, ended now, its expiresAt kept');
select results_eq(
  format('select payment_id, user_id, concert_id, amount, status, paid_at from app.payments where reservation_id = %s', :res),
  format('values (%s::bigint, %s::bigint, %s::bigint, 50000::bigint, %L, now())', :pay, :ann, :concert, 'COMPLETED'),
  'one payment row for the reservation');
select results_eq(
  format('select kind, amount, balance_after, payment_id, created_at from app.ledger where user_id = %s order by entry_id desc limit 1', :ann),
  format('values (%L, -50000::bigint, 30000::bigint, %s::bigint, now())', 'PAYMENT', :pay),
  'a PAYMENT ledger row, negative, with the balance after it and the payment');
select is((select count(*) from app.ledger where user_id = :ann), 2::bigint, 'and only that one ledger row more');
select results_eq(
  format('select kind, user_id, payload, dispatched_at from app.outbox where event_id > %s', :last_event),
  format('values (%L, %s::bigint, %L::jsonb, null::timestamptz)', 'payment.completed', :ann, :'paid'),
  'one undispatched payment.completed outbox event carrying the Payment');
select results_eq(
  format('select status, ended_at from app.queue_tickets where token = %L', :'ann_token'),
  $$values ('USED', now())$$,
  'the token is used up');
select throws_ok(format('select app.ticket_gate(%L)', :'ann_token'), 'CR302', NULL,
  'the gate now refuses the token');

set local role boxoffice_api;
select throws_ok(format('select api.balance_get(%L)', :'ann_token'), 'CR302', NULL,
  'so does every route, any-live ones included');
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res), 'CR302', NULL,
  'a second payment with the used token is refused at the gate');
reset role;

-- The debit is of the reservation's price (what the user was shown), and
-- the ledger's running balance holds over several payments.
select tests.active_ticket(:ann, :concert) as ann_token2 \gset
update app.seats set price = 20000 where date_id = :date_id and seat_no = 8;
select tests.held_reservation(:ann, :date_id, 8) as res2 \gset
-- (as the owner: app.payment_create takes the clock)
select is(app.payment_create(:'ann_token2'::uuid, :res2, at => now() + interval '1 minute')->'amount', '20000'::jsonb,
  'a second payment with a new token');
reset role;
select is((select balance from app.users where user_id = :ann), 10000::bigint, 'both prices debited');
select is((select balance_after from app.ledger where user_id = :ann order by entry_id desc limit 1), 10000::bigint,
  'the newest ledger row carries the balance');
select is((select paid_at from app.payments where reservation_id = :res2), now() + interval '1 minute',
  'paid_at follows as_of');
select is((select count(*) from app.outbox where event_id > :last_event and kind = 'payment.completed'), 2::bigint, 'one outbox event per payment');
select is((select count(*) from app.payments where user_id = :ann), 2::bigint, 'two payments in all');
select results_eq(
  format('select status from app.seats where date_id = %s and seat_no in (7, 8) order by seat_no', :date_id),
  $$values ('SOLD'), ('SOLD')$$, 'both seats SOLD');
select is((select status from app.queue_tickets where token = :'ann_token2'), 'USED', 'the second token is used up too');

select * from finish();
rollback;
