-- api.seat_hold on a seat that is not free: SEAT_TAKEN, except that the holder asking again gets the same reservation.
begin;
select plan(10);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset first_
select is(:first_status, 201, 'ann holds seat 7');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'bob_token', :concert, :date1),
  'CR201', NULL, 'bob asking for the same seat is refused: seat taken');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.seat_hold(%L, %s, %s, 7, as_of => %L)', :'bob_token', :concert, :date1, now() + interval '299 seconds'),
  'CR201', NULL, 'and still taken one second before the hold lapses');
set local role boxoffice_api;

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset again_
select is(:again_status, 200, 'ann asking again gets 200');
select is(:'again_body'::jsonb, :'first_body'::jsonb, 'with the same reservation');

reset role;
select is((select count(*) from app.reservations r where r.date_id = :date1 and r.seat_no = 7), 1::bigint,
  'one reservation for the seat, never a second');
select is((select s.user_id from app.seats s where s.date_id = :date1 and s.seat_no = 7), :ann::bigint,
  'the seat stays ann''s');

-- A sold seat is taken, for its buyer too.
select tests.sold_seat(:ann, :date1, 9) as sold \gset
set local role boxoffice_api;
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9)', :'bob_token', :concert, :date1),
  'CR201', NULL, 'a sold seat is taken');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.seat_hold(%L, %s, %s, 9, as_of => %L)', :'ann_token', :concert, :date1, now() + interval '1 hour'),
  'CR201', NULL, 'a sold seat is taken for its buyer as well, and never lapses');
set local role boxoffice_api;
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 8)).status, 201, 'bob can hold the seat next to it');

select * from finish();
rollback;
