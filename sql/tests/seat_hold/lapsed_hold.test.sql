-- api.seat_hold on a lapsed hold: the seat is free at once, another user takes it over and the old reservation
-- ends EXPIRED, in the same call, before any job runs.
begin;
select plan(14);

-- Fixtures: concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
insert into app.users (name) values ('ann') returning user_id as ann \gset
insert into app.users (name) values ('bob') returning user_id as bob \gset
insert into app.users (name) values ('cid') returning user_id as cid \gset
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.concerts (title, venue) values ('Other concert', 'Other hall') returning concert_id as other_concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 4, 2), (:other_concert, 2, 1);
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '1 day') returning date_id as date1 \gset
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '2 days') returning date_id as date2 \gset
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() - interval '1 hour') returning date_id as past_date \gset
insert into app.concert_dates (concert_id, starts_at) values (:other_concert, now() + interval '1 day') returning date_id as other_date \gset
insert into app.seats (date_id, seat_no, concert_id, price)
select d.date_id, n, d.concert_id, 1000 * n
from app.concert_dates d, generate_series(1, 50) n
where d.concert_id in (:concert, :other_concert);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '7 days') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :bob, 'ACTIVE', now(), now(), now(), now() + interval '7 days') returning token as bob_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 3, :cid, 'WAITING', now(), now()) returning token as cid_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:other_concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '7 days') returning token as ann_other_token \gset

set local role boxoffice_api;

select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7)).body ->> 'reservationId' as ann_res \gset
select is(api.reservation_get(:'ann_token'::uuid, :ann_res, now() + interval '299 seconds') ->> 'status', 'HELD',
  'the hold is HELD until it lapses');
select is(api.reservation_get(:'ann_token'::uuid, :ann_res, now() + interval '300 seconds') ->> 'status', 'EXPIRED',
  'it reads EXPIRED as soon as it lapses, before any job runs');
select ok(api.seat_list(:'bob_token'::uuid, :concert, :date1, now() + interval '301 seconds') -> 'seats'
            @> '[{"seatNo": 7, "price": 7000}]',
  'the lapsed seat is listed again');

select * from api.seat_hold(:'bob_token'::uuid, :concert, :date1, 7, as_of => now() + interval '301 seconds') \gset bob_
select is(:bob_status, 201, 'bob takes the lapsed seat over: 201');
select is(:'bob_body'::jsonb ->> 'expiresAt',
  to_char((now() + interval '601 seconds') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  'his hold runs from his own clock');
select isnt((:'bob_body'::jsonb ->> 'reservationId')::bigint, :ann_res::bigint, 'with a new reservation');
select is(api.reservation_get(:'ann_token'::uuid, :ann_res) ->> 'status', 'EXPIRED',
  'ann''s reservation shows EXPIRED');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, as_of => %L)', :'ann_token', :concert, :date1, now() + interval '302 seconds'),
  'CR201', NULL, 'ann cannot have it back: it is bob''s now');

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
select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 8, as_of => now() + interval '400 seconds') \gset again_
select is(:again_status, 201, 'ann holding her own lapsed seat again gets 201');
select isnt((:'again_body'::jsonb ->> 'reservationId')::bigint, :ann_res8::bigint, 'and a new reservation');
reset role;
select is((select r.status from app.reservations r where r.reservation_id = :ann_res8), 'EXPIRED',
  'her old reservation is EXPIRED');

select * from finish();
rollback;
