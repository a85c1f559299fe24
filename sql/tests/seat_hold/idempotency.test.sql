-- api.seat_hold with an Idempotency-Key: a replay returns the first answer before any check and holds once.
begin;
select plan(15);

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

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1') \gset first_
select is(:first_status, 201, 'the first call holds the seat');
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'a replay returns the same status and body');
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, user_id => :ann, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'naming the token''s own userId is the same request');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 8, idempotency_key => %L)', :'ann_token', :concert, :date1, 'hold-1'),
  'CR204', NULL, 'the same key for another seat is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, idempotency_key => %L)', :'ann_token', :concert, :date2, 'hold-1'),
  'CR204', NULL, 'the same key for another date is refused');
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 8, idempotency_key => 'hold-1')).status, 201,
  'keys are per user: bob''s hold-1 is a new request');

reset role;
select is((select count(*) from app.reservations r where r.user_id = :ann), 1::bigint, 'ann''s seat was held once');

-- A failure is not stored: the retry does the work afresh.
set local role boxoffice_api;
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, idempotency_key => %L)', :'bob_token', :concert, :date1, 'hold-2'),
  'CR201', NULL, 'bob''s hold-2 on ann''s seat fails');
select is((api.reservation_cancel(:'ann_token'::uuid, (:'first_body'::jsonb ->> 'reservationId')::bigint)) ->> 'status',
  'CANCELLED', 'ann cancels');
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-2')).status, 201,
  'bob''s retry of hold-2 now holds the seat');

-- Whatever happened since, the replay is the first answer; even after the token is used up.
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'the replay after a cancel is still the first answer');
reset role;
update app.queue_tickets set status = 'USED', ended_at = now() where token = :'ann_token';
set local role boxoffice_api;
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'a replay is answered before the token is checked');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, idempotency_key => %L)', :'ann_token', :concert, :date1, 'hold-3'),
  'CR302', NULL, 'a new key with a used-up token goes on to the gate');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, idempotency_key => %L)', :'bob_token', :concert, :date1, 'bad key'),
  'CR001', NULL, 'a malformed key is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, idempotency_key => %L)', gen_random_uuid(), :concert, :date1, 'hold-1'),
  'CR301', NULL, 'a key with an unknown token is refused');

select * from finish();
rollback;
