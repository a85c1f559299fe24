-- api.reservation_get: the owner's reservation, with any live token; a lapsed hold reads EXPIRED.
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

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset h_
select (:'h_body'::jsonb ->> 'reservationId')::bigint as res \gset

select is(api.reservation_get(:'ann_token'::uuid, :res), :'h_body'::jsonb, 'the owner reads the Reservation seat_hold returned');
select is(api.reservation_get(:'ann_other_token'::uuid, :res), :'h_body'::jsonb,
  'any live token of the owner will do, of another concert too');
select is(api.reservation_get(:'ann_token'::uuid, :res, now() + interval '300 seconds'),
  jsonb_set(:'h_body'::jsonb, '{status}', '"EXPIRED"'),
  'a lapsed hold reads EXPIRED before any job runs, expiresAt unchanged');
select is(api.reservation_get(:'ann_token'::uuid, :res, now() + interval '299 seconds') ->> 'status', 'HELD',
  'and HELD until then');

select throws_ok(format('select api.reservation_get(%L, %s)', :'bob_token', :res),
  'CR304', NULL, 'another user''s reservation is forbidden');
select throws_ok(format('select api.reservation_get(%L, %s)', :'ann_token', :res + 1000000),
  'CR104', NULL, 'an unknown reservation is not found');
select throws_ok(format('select api.reservation_get(%L, %s)', gen_random_uuid(), :res),
  'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.reservation_get(%L, %s, %L)', :'ann_token', :res, now() + interval '8 days'),
  'CR302', NULL, 'an expired token is refused');

-- A WAITING token is live: cid holds nothing, but his token passes the gate.
select throws_ok(format('select api.reservation_get(%L, %s)', :'cid_token', :res),
  'CR304', NULL, 'a WAITING token passes the gate and meets the owner check');

reset role;
update app.reservations set status = 'PAID', ended_at = now() where reservation_id = :res;
update app.seats set status = 'SOLD', hold_expires_at = null where date_id = :date1 and seat_no = 7;
set local role boxoffice_api;
select is(api.reservation_get(:'ann_token'::uuid, :res, now() + interval '1 hour') ->> 'status', 'PAID',
  'a PAID reservation stays PAID after its hold time');

select * from finish();
rollback;
