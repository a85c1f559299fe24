-- api.concert_dates: the dates still to come that have a free seat, with their free seat count.
begin;
select plan(11);

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

select is(api.concert_dates(:'ann_token'::uuid, :concert),
  jsonb_build_object('concertId', :concert, 'dates', jsonb_build_array(
    jsonb_build_object('dateId', :date1, 'date', to_char((now() + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 50),
    jsonb_build_object('dateId', :date2, 'date', to_char((now() + interval '2 days') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 50))),
  'the dates to come by start, with their UTC date and free seats; the begun date is left out');

-- ann holds 3 seats of date1; bob holds the other 47.
select is((select count(*) from (select api.seat_hold(:'ann_token'::uuid, :concert, :date1, n) from generate_series(1, 3) n) h),
  3::bigint, 'ann holds 3 seats');
select is((select count(*) from (select api.seat_hold(:'bob_token'::uuid, :concert, :date1, n) from generate_series(4, 50) n) h),
  47::bigint, 'bob holds the other 47');
select is(jsonb_path_query_array(api.concert_dates(:'ann_token'::uuid, :concert), '$.dates[*].dateId'),
  jsonb_build_array(:date2), 'a date with all 50 seats held leaves the list');
select is(api.seat_list(:'ann_token'::uuid, :concert, :date1) -> 'seats', '[]'::jsonb, 'and lists no seat');

-- The holds lapse: the date is back at once, before any job runs.
select is(jsonb_path_query_array(api.concert_dates(:'ann_token'::uuid, :concert, now() + interval '301 seconds'),
    '$.dates[*] ? (@.dateId == $d).availableSeats', jsonb_build_object('d', :date1)),
  '[50]'::jsonb, 'lapsed holds count as free at once');
select is(jsonb_path_query_array(api.concert_dates(:'ann_token'::uuid, :concert, now() + interval '299 seconds'),
    '$.dates[*].dateId'),
  jsonb_build_array(:date2), 'holds not yet lapsed still count as taken');

-- A cancelled hold and a sold seat.
reset role;
select r.reservation_id as first_hold from app.reservations r where r.date_id = :date1 and r.seat_no = 1 \gset
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
values (:ann, :concert, :date2, 50, 50000, 'PAID', now(), now() + interval '5 minutes') returning reservation_id as sold \gset
update app.seats set status = 'SOLD', user_id = :ann, reservation_id = :sold where date_id = :date2 and seat_no = 50;
set local role boxoffice_api;
select is(api.reservation_cancel(:'ann_token'::uuid, :first_hold) ->> 'status', 'CANCELLED', 'ann cancels one hold');
select is(api.concert_dates(:'ann_token'::uuid, :concert) -> 'dates',
  jsonb_build_array(
    jsonb_build_object('dateId', :date1, 'date', to_char((now() + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 1),
    jsonb_build_object('dateId', :date2, 'date', to_char((now() + interval '2 days') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 49)),
  'a cancelled seat is free at once and a sold seat is not counted');
select is(api.concert_dates(:'ann_token'::uuid, :concert, now() + interval '3 days') -> 'dates', '[]'::jsonb,
  'when every date has begun the list is empty');
select is(api.concert_dates(:'ann_other_token'::uuid, :other_concert) -> 'concertId', to_jsonb(:other_concert),
  'the other concert answers with its own id');

select * from finish();
rollback;
