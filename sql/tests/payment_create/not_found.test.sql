-- api.payment_create: an unknown reservation is CR104, after the token checks (API.md §3) and after CR001.
begin;
select plan(9);

insert into app.users (name, balance) values ('ann', 80000) returning user_id as ann \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:ann, 'CHARGE', 80000, 80000, now());
insert into app.users (name, balance) values ('bob', 80000) returning user_id as bob \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:bob, 'CHARGE', 80000, 80000, now());
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 3, 2);
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '30 days') returning date_id as date_id \gset
insert into app.seats (date_id, seat_no, concert_id, price) select :date_id, n, :concert, 50000 from generate_series(1, 50) n;
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :bob, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as bob_token \gset
-- ann holds seat 7
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 7, 50000, now(), now() + interval '5 minutes') returning reservation_id as res \gset
update app.seats set status = 'HELD', user_id = :ann, reservation_id = :res, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 7;
insert into app.users (name) values ('cat') returning user_id as cat \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 3, :cat, 'WAITING', now(), now()) returning token as cat_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, ended_at)
values (:concert, 4, :cat, 'LEFT', now(), now(), now()) returning token as left_token \gset
update app.queues set next_no = 5 where concert_id = :concert;
select coalesce(max(reservation_id), 0) + 1000 as missing from app.reservations \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :missing), 'CR104', NULL,
  'an unknown reservation is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'ann_token', :missing, :ann), 'CR104', NULL,
  'with the right userId too');
select throws_ok(format('select api.payment_create(%L, %s)', gen_random_uuid(), :missing), 'CR301', NULL,
  'an unknown token wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, %s)', :'left_token', :missing), 'CR302', NULL,
  'a given-up token wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, %s)', :'cat_token', :missing), 'CR303', NULL,
  'a WAITING token wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'ann_token', :missing, :bob), 'CR304', NULL,
  'a userId not the token''s wins over an unknown reservation');
select throws_ok(format('select api.payment_create(%L, null)', :'ann_token'), 'CR001', NULL,
  'a missing reservationId is refused');
select throws_ok(format('select api.payment_create(%L, null)', gen_random_uuid()), 'CR001', NULL,
  'before the token is checked');
reset role;
select is((select balance from app.users where user_id = :ann), 80000::bigint, 'nothing was charged');

select * from finish();
rollback;
