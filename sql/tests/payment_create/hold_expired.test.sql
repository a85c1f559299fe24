-- api.payment_create: a lapsed, expired or lost hold is CR205 and nothing is charged.
begin;
select plan(11);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
select tests.payment_state(:ann, :res, :'ann_token') as before \gset

-- (as the owner: app.payment_create takes the clock)
select throws_ok(format('select app.payment_create(%L, %s, at => %L)', :'ann_token', :res, now() + interval '5 minutes'),
  'CR205', NULL, 'a hold that lapses at this very moment is refused');
select throws_ok(format('select app.payment_create(%L, %s, at => %L)', :'ann_token', :res, now() + interval '6 minutes'),
  'CR205', NULL, 'a lapsed hold is refused (the token still live)');
reset role;
select is(tests.payment_state(:ann, :res, :'ann_token'), :'before', 'nothing changed: no debit, seat still HELD, token ACTIVE');

-- The job has tidied it: reservation EXPIRED, seat free.
update app.seats set status = 'FREE', user_id = null, reservation_id = null, hold_expires_at = null
where date_id = :date_id and seat_no = 7;
update app.reservations set status = 'EXPIRED', ended_at = expires_at where reservation_id = :res;
select tests.payment_state(:ann, :res, :'ann_token') as before \gset
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res), 'CR205', NULL,
  'an EXPIRED reservation is refused');
reset role;
select is(tests.payment_state(:ann, :res, :'ann_token'), :'before', 'nothing changed');

-- bob took the seat over: ann's reservation EXPIRED, bob's HELD.
select tests.held_reservation(:bob, :date_id, 7) as bob_res \gset
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res), 'CR205', NULL,
  'a hold taken over by another user is refused');
reset role;
select is((select status from app.seats where date_id = :date_id and seat_no = 7), 'HELD', 'bob''s hold stands');

-- Inconsistent rows (the audit's business): reservation HELD and unlapsed, but the seat's hold has lapsed.
select tests.held_reservation(:ann, :date_id, 9) as res9 \gset
update app.seats set hold_expires_at = now() - interval '1 second' where date_id = :date_id and seat_no = 9;
select tests.payment_state(:ann, :res9, :'ann_token') as before \gset
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res9), 'CR205', NULL,
  'a seat whose hold has lapsed is refused, whatever the reservation says');
reset role;
select is(tests.payment_state(:ann, :res9, :'ann_token'), :'before', 'nothing changed');

-- Inconsistent rows: reservation HELD and unlapsed, but its seat is FREE.
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 10, 50000, now(), now() + interval '5 minutes') returning reservation_id as res10 \gset
select tests.payment_state(:ann, :res10, :'ann_token') as before \gset
set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res10), 'CR205', NULL,
  'a seat no longer held by the reservation is refused');
reset role;
select is(tests.payment_state(:ann, :res10, :'ann_token'), :'before', 'nothing changed, the seat stays FREE');

select * from finish();
rollback;
