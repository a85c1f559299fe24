-- api.audit: no rows for a consistent world (charges, a payment, holds live, lapsed, cancelled and expired).
begin;
select plan(3);

-- Whatever the database held before this test is the baseline: only new findings count.
create temp table audit_before as select invariant, subject from api.audit();
create temp view audit_new as
  select invariant, subject from api.audit() except select invariant, subject from audit_before;
grant select on audit_new to boxoffice_api;

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
-- bob holds seat 9
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:bob, :concert, :date_id, 9, 50000, now(), now() + interval '5 minutes') returning reservation_id as res9 \gset
update app.seats set status = 'HELD', user_id = :bob, reservation_id = :res9, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 9;
-- ann charges and pays for seat 7
set local role boxoffice_api;
select api.balance_charge(:'ann_token'::uuid, 1000) is not null as charged \gset
select (api.payment_create(:'ann_token'::uuid, :res)->>'paymentId')::bigint as pay \gset
reset role;
select entry_id as pay_entry from app.ledger where payment_id = :pay \gset
-- a lapsed hold not yet tidied, an expired one tidied, a cancelled one
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:bob, :concert, :date_id, 10, 50000, now() - interval '10 minutes', now() - interval '5 minutes')
returning reservation_id as lapsed \gset
update app.seats set status = 'HELD', user_id = :bob, reservation_id = :lapsed, hold_expires_at = now() - interval '5 minutes'
where date_id = :date_id and seat_no = 10;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at, ended_at)
values (:bob, :concert, :date_id, 11, 50000, 'EXPIRED', now() - interval '10 minutes', now() - interval '5 minutes',
        now() - interval '5 minutes'),
       (:bob, :concert, :date_id, 11, 50000, 'CANCELLED', now() - interval '3 minutes', now() + interval '2 minutes', now());

set local role boxoffice_api;
select is_empty('select * from audit_new', 'a consistent world breaks no invariant');
select is_empty('select * from api.audit() where subject in (''user ' || :ann || ''', ''user ' || :bob || ''')',
  'nothing about the fixture''s users');
select lives_ok('select * from api.audit()', 'the server''s role may run the audit');

select * from finish();
rollback;
