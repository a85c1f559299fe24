-- api.payment_create: another user's reservation (CR304), a userId other than the token's (CR304),
-- a token of another concert (CR304), a token still waiting (CR303).
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
-- The state a refused payment must leave alone, as one line of text.
create function pg_temp.payment_state(u bigint, r bigint, tok uuid) returns text language sql as $$
  select concat_ws(' | ',
    (select balance from app.users where user_id = u),
    (select s.status || ':' || coalesce(s.user_id::text, '-') || ':' || coalesce(s.reservation_id::text, '-')
            || ':' || coalesce(s.hold_expires_at::text, '-')
     from app.reservations x join app.seats s on s.date_id = x.date_id and s.seat_no = x.seat_no
     where x.reservation_id = r),
    (select x.status || ':' || coalesce(x.ended_at::text, '-') from app.reservations x where x.reservation_id = r),
    (select count(*) from app.payments p where p.user_id = u),
    (select count(*) || ':' || coalesce(sum(l.amount), 0) from app.ledger l where l.user_id = u),
    (select count(*) from app.outbox o where o.user_id = u),
    (select t.status from app.queue_tickets t where t.token = tok))
$$;
insert into app.concerts (title, venue) values ('Other concert', 'Other hall') returning concert_id as other_concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:other_concert, 2, 1);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:other_concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_other_token \gset
insert into app.users (name, balance) values ('cat', 80000) returning user_id as cat \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 3, :cat, 'WAITING', now(), now()) returning token as cat_token \gset
update app.queues set next_no = 4 where concert_id = :concert;
select pg_temp.payment_state(:ann, :res, :'ann_token') as ann_before \gset
select pg_temp.payment_state(:bob, :res, :'bob_token') as bob_before \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'bob_token', :res), 'CR304', NULL,
  'another user''s reservation is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'bob_token', :res, :ann), 'CR304', NULL,
  'a userId that is not the token''s user is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'ann_token', :res, :bob), 'CR304', NULL,
  'even by the owner''s token, when userId names someone else');
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_other_token', :res), 'CR304', NULL,
  'a token of another concert is refused');
select throws_ok(format('select api.payment_create(%L, %s)', :'cat_token', :res), 'CR303', NULL,
  'a WAITING token is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'cat_token', :res, :cat), 'CR303', NULL,
  'a WAITING token is refused before ownership is looked at');
reset role;
select is(pg_temp.payment_state(:ann, :res, :'ann_token'), :'ann_before', 'the owner''s state is unchanged');
select is(pg_temp.payment_state(:bob, :res, :'bob_token'), :'bob_before', 'the other user''s state is unchanged');
select is((select count(*) from app.queue_tickets where status = 'USED' and user_id in (:ann, :bob, :cat)), 0::bigint,
  'no token was used up');

select * from finish();
rollback;
