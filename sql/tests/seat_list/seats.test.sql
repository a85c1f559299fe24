-- api.seat_list: the free seats of a date (FREE, or HELD with a lapsed hold), by seatNo, with their price.
begin;
select plan(8);

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

select is(api.seat_list(:'ann_token'::uuid, :concert, :date1),
  jsonb_build_object('concertId', :concert, 'dateId', :date1, 'seats',
    (select jsonb_agg(jsonb_build_object('seatNo', n, 'price', 1000 * n) order by n) from generate_series(1, 50) n)),
  'a fresh date lists its 50 seats by seatNo with their prices');

select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 7)).status, 201, 'bob holds seat 7');
reset role;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
values (:ann, :concert, :date1, 9, 9000, 'PAID', now(), now() + interval '5 minutes') returning reservation_id as sold \gset
update app.seats set status = 'SOLD', user_id = :ann, reservation_id = :sold where date_id = :date1 and seat_no = 9;
set local role boxoffice_api;

select is(jsonb_path_query_array(api.seat_list(:'ann_token'::uuid, :concert, :date1), '$.seats[*].seatNo'),
  (select jsonb_agg(n order by n) from generate_series(1, 50) n where n not in (7, 9)),
  'held and sold seats are not listed');
select is(jsonb_path_query_array(api.seat_list(:'ann_token'::uuid, :concert, :date1, now() + interval '301 seconds'), '$.seats[*].seatNo'),
  (select jsonb_agg(n order by n) from generate_series(1, 50) n where n <> 9),
  'a lapsed hold is listed again at once; a sold seat never');
select is(jsonb_array_length(api.seat_list(:'ann_token'::uuid, :concert, :date2) -> 'seats'), 50,
  'the holds of one date do not touch another');

select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_token', :concert, :date1 + 1000000),
  'CR103', NULL, 'an unknown date is not found');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_token', :concert, :other_date),
  'CR103', NULL, 'a date of another concert is not found');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_token', :concert, :past_date),
  'CR103', NULL, 'a date that has begun is not found');

select * from finish();
rollback;
