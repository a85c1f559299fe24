-- api.seat_hold refusals, in the order of API.md §3: the token gate and the userId, then the date.
begin;
select plan(12);

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

select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', gen_random_uuid(), :concert, :date1),
  'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, as_of => %L)', :'ann_token', :concert, :date1, now() + interval '8 days'),
  'CR302', NULL, 'an ACTIVE token past its expiresAt is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'cid_token', :concert, :date1),
  'CR303', NULL, 'a WAITING token is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_other_token', :concert, :date1),
  'CR304', NULL, 'a token of another concert is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, user_id => %s)', :'ann_token', :concert, :date1, :bob),
  'CR304', NULL, 'a userId that is not the token''s user is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_token', :concert, :date1 + 1000000),
  'CR103', NULL, 'an unknown date is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_token', :concert, :other_date),
  'CR103', NULL, 'a date of another concert is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_token', :concert, :past_date),
  'CR103', NULL, 'a date that has begun is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_other_token', :other_concert, :date1),
  'CR103', NULL, 'a date of concert A asked for under concert B is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'cid_token', :concert, :date1 + 1000000),
  'CR303', NULL, 'the token is checked before the date');

reset role;
select is((select count(*) from app.reservations r where r.concert_id in (:concert, :other_concert)), 0::bigint,
  'no reservation was created');
select is((select count(*) from app.seats s where s.concert_id in (:concert, :other_concert) and s.status <> 'FREE'), 0::bigint,
  'every seat is still FREE');

select * from finish();
rollback;
