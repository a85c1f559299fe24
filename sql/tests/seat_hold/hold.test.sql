-- api.seat_hold: a free seat is held for its user for HOLD_SECONDS, with a new HELD reservation.
begin;
select plan(13);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset
-- more holds per token than MAX_HOLDS_PER_TOKEN's default: the limit is not the point here
select tests.setting('max_holds_per_token', 50);

set local role boxoffice_api;

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset h_
select is(:h_status, 201, 'a new hold answers 201');
select is(:'h_body'::jsonb - 'reservationId',
  jsonb_build_object('userId', :ann, 'concertId', :concert, 'dateId', :date1,
    'date', to_char((now() + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD'),
    'seatNo', 7, 'price', 7000, 'status', 'HELD',
    'expiresAt', to_char((now() + interval '300 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
  'the body is the Reservation: status HELD, the seat''s price, expiresAt = now + 300 s');
select is(jsonb_typeof(:'h_body'::jsonb -> 'reservationId'), 'number', 'reservationId is a number');

reset role;
select is((select (s.status, s.user_id, s.reservation_id, s.hold_expires_at)::text from app.seats s
           where s.date_id = :date1 and s.seat_no = 7),
  ('HELD', :ann, (:'h_body'::jsonb ->> 'reservationId')::bigint, now() + interval '300 seconds')::text,
  'the seat is HELD by ann, pointing at the new reservation, until now + 300 s');
select is((select (r.user_id, r.concert_id, r.date_id, r.seat_no, r.price, r.status, r.created_at, r.expires_at, r.ended_at)::text
           from app.reservations r where r.reservation_id = (:'h_body'::jsonb ->> 'reservationId')::bigint),
  (:ann, :concert, :date1, 7, 7000, 'HELD', now(), now() + interval '300 seconds', null::timestamptz)::text,
  'the reservation row is HELD at the seat''s price, created now, expiring with the hold');

select tests.setting('hold_seconds', 60);
set local role boxoffice_api;
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 8)).body ->> 'expiresAt',
  to_char((now() + interval '60 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'HOLD_SECONDS (boxoffice.hold_seconds) sets the hold time');
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 9, user_id => :ann)).status, 201,
  'naming the token''s own userId is allowed');
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date2, 1)).status, 201, 'a user may hold seats on several dates');
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 1)).status, 201, 'seat 1 can be held');
select is((api.seat_hold(:'ann_token'::uuid, :concert, :date1, 50)).status, 201, 'seat 50 can be held');
select is((api.seat_hold(:'ann_other_token'::uuid, :other_concert, :other_date, 7)).body ->> 'concertId', :other_concert::text,
  'the same seat number on another concert is another seat');

reset role;
select is((select count(*) from app.reservations r where r.user_id = :ann and r.status = 'HELD'), 7::bigint,
  'ann holds seven seats, one reservation each');
select is((select count(*) from app.seats s where s.user_id = :ann and s.status = 'HELD'), 7::bigint,
  'and seven seats are HELD for her');

select * from finish();
rollback;
