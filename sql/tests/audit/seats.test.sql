-- api.audit: each corruption of seats and reservations is reported, by its invariant and subject, and nothing else is.
begin;
select plan(10);

-- Whatever the database held before this test is the baseline: only new findings count
-- (the temp view audit_new, readable by boxoffice_api). Taken before any fixture is made.
select tests.audit_baseline();

-- Fixtures (tests.audit_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); bob holds seat 9 (res9); ann charged 1000 and paid for seat 7 (reservation res, payment pay,
-- its ledger row pay_entry).
select * from tests.audit_world() \gset
select is_empty('select * from audit_new', 'the fixture is consistent');

-- 1. A sold seat freed under its PAID reservation.
update app.seats set status = 'FREE', user_id = null, reservation_id = null, hold_expires_at = null
where date_id = :date_id and seat_no = 7;
select set_eq('select * from audit_new',
  format('values (%L, %L)', 'paid_reservation_seat', 'reservation ' || :res),
  'a PAID reservation whose seat is free');
update app.seats set status = 'SOLD', user_id = :ann, reservation_id = :res where date_id = :date_id and seat_no = 7;

-- 2. A paid reservation marked CANCELLED.
update app.reservations set status = 'CANCELLED' where reservation_id = :res;
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L)',
    'sold_seat_reservation', 'seat ' || :date_id || '/7', 'payment_reservation', 'payment ' || :pay),
  'a SOLD seat and a payment whose reservation is not PAID');
update app.reservations set status = 'PAID' where reservation_id = :res;

-- 3. A price changed after the sale.
update app.seats set price = price + 1 where date_id = :date_id and seat_no = 7;
select set_eq('select * from audit_new',
  format('values (%L, %L)', 'payment_amount', 'payment ' || :pay),
  'a payment that is not its seat''s price');
update app.seats set price = price - 1 where date_id = :date_id and seat_no = 7;

-- 4. A held seat whose reservation was cancelled without freeing it.
update app.reservations set status = 'CANCELLED' where reservation_id = :res9;
select set_eq('select * from audit_new',
  format('values (%L, %L)', 'seat_hold_reservation', 'seat ' || :date_id || '/9'),
  'a HELD seat whose reservation is not HELD');
update app.reservations set status = 'HELD' where reservation_id = :res9;

-- 5. A held reservation whose seat was freed under it.
update app.seats set status = 'FREE', user_id = null, reservation_id = null, hold_expires_at = null
where date_id = :date_id and seat_no = 9;
select set_eq('select * from audit_new',
  format('values (%L, %L)', 'reservation_hold_seat', 'reservation ' || :res9),
  'an unlapsed HELD reservation whose seat is not held by it');
update app.seats set status = 'HELD', user_id = :bob, reservation_id = :res9, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 9;

-- 6. A seat held by one user with the reservation of another.
update app.seats set user_id = :ann where date_id = :date_id and seat_no = 9;
select set_eq('select * from audit_new',
  format('values (%L, %L)', 'seat_hold_reservation', 'seat ' || :date_id || '/9'),
  'a HELD seat whose user is not its reservation''s');
update app.seats set user_id = :bob where date_id = :date_id and seat_no = 9;

-- 7. Two live holds on one seat (possible only without the partial unique index).
drop index app.reservations_date_id_seat_no_key;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 9, 50000, now(), now() + interval '5 minutes') returning reservation_id as second \gset
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L)',
    'seat_live_reservations', 'seat ' || :date_id || '/9', 'reservation_hold_seat', 'reservation ' || :second),
  'two live reservations on one seat; the second does not hold it');
update app.reservations set expires_at = now() - interval '1 second' where reservation_id = :second;
select is_empty('select * from audit_new', 'a lapsed second hold is not live: nothing reported');

-- 8. A second payment for the sold seat 7, through another PAID reservation
-- (the index is still dropped): the seat has two payments.
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at, ended_at)
values (:bob, :concert, :date_id, 7, 50000, 'PAID', now(), now() + interval '5 minutes', now())
returning reservation_id as dup \gset
insert into app.payments (reservation_id, user_id, concert_id, amount, paid_at) values (:dup, :bob, :concert, 50000, now());
select ok(exists(select from audit_new where invariant = 'sold_seat_payment' and subject = 'seat ' || :date_id || '/7'),
  'a SOLD seat with two payments (one of another reservation of the seat)');

select * from finish();
rollback;
