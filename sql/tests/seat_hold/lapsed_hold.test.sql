-- api.seat_hold on a lapsed hold: the seat is free at once, another user takes it over and the old reservation
-- ends EXPIRED, in the same call, before any job runs.
begin;
select plan(14);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7)).body ->> 'reservationId' as ann_res \gset
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select is(app.reservation_get(:'ann_token'::uuid, :ann_res, now() + interval '299 seconds') ->> 'status', 'HELD',
  'the hold is HELD until it lapses');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.reservation_get(:'ann_token'::uuid, :ann_res, now() + interval '300 seconds') ->> 'status', 'EXPIRED',
  'it reads EXPIRED as soon as it lapses, before any job runs');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select ok(app.seat_list(:'bob_token'::uuid, :concert, :date1, now() + interval '301 seconds') -> 'seats'
            @> '[{"seatNo": 7, "price": 7000}]',
  'the lapsed seat is listed again');
set local role boxoffice_api;

reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select * from app.seat_hold(:'bob_token'::uuid, :concert, :date1, 7, as_of => now() + interval '301 seconds') \gset bob_
set local role boxoffice_api;
select is(:bob_status, 201, 'bob takes the lapsed seat over: 201');
select is(:'bob_body'::jsonb ->> 'expiresAt',
  to_char((now() + interval '601 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'his hold runs from his own clock');
select isnt((:'bob_body'::jsonb ->> 'reservationId')::bigint, :ann_res::bigint, 'with a new reservation');
select is(api.reservation_get(:'ann_token'::uuid, :ann_res) ->> 'status', 'EXPIRED',
  'ann''s reservation shows EXPIRED');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.seat_hold(%L, %s, %s, 7, as_of => %L)', :'ann_token', :concert, :date1, now() + interval '302 seconds'),
  'CR201', NULL, 'ann cannot have it back: it is bob''s now');
set local role boxoffice_api;

reset role;
select is((select (r.status, r.ended_at)::text from app.reservations r where r.reservation_id = :ann_res),
  ('EXPIRED', now() + interval '300 seconds')::text, 'ann''s reservation row is EXPIRED, ended when the hold lapsed');
select is((select array_agg(r.reservation_id) from app.reservations r
           where r.date_id = :date1 and r.seat_no = 7 and r.status in ('HELD', 'PAID')),
  array[(:'bob_body'::jsonb ->> 'reservationId')::bigint], 'one live reservation for the seat: bob''s');
select is((select (s.status, s.user_id, s.reservation_id)::text from app.seats s where s.date_id = :date1 and s.seat_no = 7),
  ('HELD', :bob, (:'bob_body'::jsonb ->> 'reservationId')::bigint)::text, 'the seat points at bob''s reservation');

-- A user whose own hold lapsed holds the seat anew: a new reservation, the old one EXPIRED.
set local role boxoffice_api;
select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 8)).body ->> 'reservationId' as ann_res8 \gset
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select * from app.seat_hold(:'ann_token'::uuid, :concert, :date1, 8, as_of => now() + interval '400 seconds') \gset again_
set local role boxoffice_api;
select is(:again_status, 201, 'ann holding her own lapsed seat again gets 201');
select isnt((:'again_body'::jsonb ->> 'reservationId')::bigint, :ann_res8::bigint, 'and a new reservation');
reset role;
select is((select r.status from app.reservations r where r.reservation_id = :ann_res8), 'EXPIRED',
  'her old reservation is EXPIRED');

select * from finish();
rollback;
