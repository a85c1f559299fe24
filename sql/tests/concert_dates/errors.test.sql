-- api.concert_dates refusals, in the order of API.md §3: the token gate, then the concert.
begin;
select plan(7);

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

select throws_ok(format('select api.concert_dates(%L, %s)', gen_random_uuid(), :concert),
  'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.concert_dates(%L, %s)', :'cid_token', :concert),
  'CR303', NULL, 'a WAITING token is refused');
select throws_ok(format('select api.concert_dates(%L, %s)', :'ann_other_token', :concert),
  'CR304', NULL, 'a token of another concert is refused');
select throws_ok(format('select api.concert_dates(%L, %s)', :'ann_token', :concert + 1000000),
  'CR304', NULL, 'an unknown concert with a live token of another concert: the token error comes first');
select throws_ok(format('select api.concert_dates(%L, %s, %L)', :'ann_token', :concert, now() + interval '8 days'),
  'CR302', NULL, 'an ACTIVE token past its expiresAt is refused');
select throws_ok(format('select api.concert_dates(%L, null)', :'ann_token'),
  'CR001', NULL, 'a missing concert id is a bad request');

-- CR102 needs a live ticket whose concert does not exist, which the foreign
-- keys forbid; disable them for this fixture only.
reset role;
set local session_replication_role = replica;
insert into app.queues (concert_id) values (-1);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (-1, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '1 day') returning token as ghost_token \gset
set local session_replication_role = origin;
set local role boxoffice_api;
select throws_ok(format('select api.concert_dates(%L, -1)', :'ghost_token'),
  'CR102', NULL, 'an unknown concert past the gate is not found');

select * from finish();
rollback;
