-- api.payment_list: the token's user's payments, newest first, for any live token.
begin;
select plan(7);

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
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 8, 30000, now(), now() + interval '5 minutes') returning reservation_id as res8 \gset
update app.seats set status = 'HELD', user_id = :ann, reservation_id = :res8, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 8;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:bob, :concert, :date_id, 9, 50000, now(), now() + interval '5 minutes') returning reservation_id as res9 \gset
update app.seats set status = 'HELD', user_id = :bob, reservation_id = :res9, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 9;

set local role boxoffice_api;
select is(api.payment_list(:'ann_token'::uuid), '{"payments": []}'::jsonb, 'no payments yet: an empty list');
select api.payment_create(:'ann_token'::uuid, :res) as first \gset
select api.payment_create(:'bob_token'::uuid, :res9) as bobs \gset
reset role;
-- ann needs a new token for the second purchase; a WAITING one may read the list.
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 3, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token2 \gset
update app.queues set next_no = 4, admitted_upto = 3 where concert_id = :concert;
set local role boxoffice_api;
select api.payment_create(:'ann_token2'::uuid, :res8, as_of => now() + interval '1 minute') as second \gset
reset role;
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 4, :ann, 'WAITING', now(), now()) returning token as ann_waiting \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 5, :bob, 'WAITING', now(), now()) returning token as bob_waiting \gset
update app.queues set next_no = 6 where concert_id = :concert;
set local role boxoffice_api;

select is(api.payment_list(:'ann_waiting'::uuid),
  jsonb_build_object('payments', jsonb_build_array(:'second'::jsonb, :'first'::jsonb)),
  'the user''s payments, newest first, each the Payment that payment_create answered');
select is(api.payment_list(:'bob_waiting'::uuid, as_of => now() + interval '2 minutes'),
  jsonb_build_object('payments', jsonb_build_array(:'bobs'::jsonb)),
  'another user sees only theirs');
select is(jsonb_array_length(api.payment_list(:'ann_waiting'::uuid)->'payments'), 2, 'two for ann');
select throws_ok(format('select api.payment_list(%L)', :'ann_token'), 'CR302', NULL, 'a used-up token is refused');
select throws_ok(format('select api.payment_list(%L)', gen_random_uuid()), 'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.payment_list(%L, %L)', :'ann_waiting', now() + interval '6 minutes'), 'CR302', NULL,
  'an idle WAITING token is refused');

select * from finish();
rollback;
