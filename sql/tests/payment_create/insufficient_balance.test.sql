-- api.payment_create: a balance below the price is CR401 and nothing changes; exactly the price is enough.
begin;
select plan(5);

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
update app.users set balance = 49999 where user_id = :ann;
update app.ledger set amount = 49999, balance_after = 49999 where user_id = :ann;
select pg_temp.payment_state(:ann, :res, :'ann_token') as before \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res), 'CR401', NULL,
  'a balance 1 below the price is refused');
reset role;
select is(pg_temp.payment_state(:ann, :res, :'ann_token'), :'before',
  'nothing changed: balance, seat, reservation, payments, ledger, outbox, token');

update app.users set balance = 50000 where user_id = :ann;
update app.ledger set amount = 50000, balance_after = 50000 where user_id = :ann;
set local role boxoffice_api;
select is(api.payment_create(:'ann_token'::uuid, :res)->>'status', 'COMPLETED', 'a balance of exactly the price pays');
reset role;
select is((select balance from app.users where user_id = :ann), 0::bigint, 'leaving 0');
select is((select balance_after from app.ledger where user_id = :ann order by entry_id desc limit 1), 0::bigint,
  'and the ledger says so');

select * from finish();
rollback;
