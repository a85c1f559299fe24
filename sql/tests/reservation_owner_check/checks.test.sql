-- app.reservation_owner_check, the checks of a route on one reservation after
-- the token gate (reservation_get, reservation_cancel, payment_create):
-- not found CR104, another user's CR304.
begin;
select plan(3);

select tests.user('ann') as ann \gset
select tests.user('bob') as bob \gset
select tests.concert() as concert_id \gset
select tests.held_reservation(:ann, tests.date_of(:concert_id), 7) as res \gset

select throws_ok(format('select app.reservation_owner_check(null::app.reservations, 999999, %s)', :ann), 'CR104', NULL,
  'no reservation read is CR104');
select throws_ok(format(
  'select app.reservation_owner_check(r, %s, %s) from app.reservations r where r.reservation_id = %s', :res, :bob, :res),
  'CR304', NULL, 'another user''s reservation is CR304');
select lives_ok(format(
  'select app.reservation_owner_check(r, %s, %s) from app.reservations r where r.reservation_id = %s', :res, :ann, :res),
  'the user''s own reservation passes');

select * from finish();
rollback;
