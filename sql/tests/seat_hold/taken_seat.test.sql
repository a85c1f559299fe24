-- api.seat_hold on a seat that is not free: SEAT_TAKEN, except that the holder asking again gets the same reservation.
begin;
select plan(10);

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

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset first_
select is(:first_status, 201, 'ann holds seat 7');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'bob_token', :concert, :date1),
  'CR201', NULL, 'bob asking for the same seat is refused: seat taken');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, as_of => %L)', :'bob_token', :concert, :date1, now() + interval '299 seconds'),
  'CR201', NULL, 'and still taken one second before the hold lapses');

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset again_
select is(:again_status, 200, 'ann asking again gets 200');
select is(:'again_body'::jsonb, :'first_body'::jsonb, 'with the same reservation');

reset role;
select is((select count(*) from app.reservations r where r.date_id = :date1 and r.seat_no = 7), 1::bigint,
  'one reservation for the seat, never a second');
select is((select s.user_id from app.seats s where s.date_id = :date1 and s.seat_no = 7), :ann::bigint,
  'the seat stays ann''s');

-- A sold seat is taken, for its buyer too.
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
values (:ann, :concert, :date1, 9, 9000, 'PAID', now(), now() + interval '5 minutes') returning reservation_id as sold \gset
update app.seats set status = 'SOLD', user_id = :ann, reservation_id = :sold where date_id = :date1 and seat_no = 9;
set local role boxoffice_api;
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9)', :'bob_token', :concert, :date1),
  'CR201', NULL, 'a sold seat is taken');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, as_of => %L)', :'ann_token', :concert, :date1, now() + interval '1 hour'),
  'CR201', NULL, 'a sold seat is taken for its buyer as well, and never lapses');
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 8)).status, 201, 'bob can hold the seat next to it');

select * from finish();
rollback;
