-- api.audit: each corruption of money is reported, by its invariant and subject, and nothing else is.
begin;
select plan(7);

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
select is_empty('select * from audit_new', 'the fixture is consistent');

-- 1. A balance changed behind the ledger's back.
update app.users set balance = balance + 5 where user_id = :ann;
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L), (%L, %L)',
    'user_ledger_sum', 'user ' || :ann, 'total_ledger_sum', 'all users', 'user_last_entry', 'user ' || :ann),
  'a balance changed directly: user_ledger_sum, total_ledger_sum, user_last_entry');
update app.users set balance = balance - 5 where user_id = :ann;

-- 2. A ledger row's balance_after wrong (not the newest one).
select min(entry_id) as first_entry, max(entry_id) filter (where kind = 'CHARGE') as charge_entry
from app.ledger where user_id = :ann \gset
update app.ledger set balance_after = balance_after + 1 where entry_id = :first_entry;
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L)',
    'ledger_running_balance', 'ledger entry ' || :first_entry, 'ledger_running_balance', 'ledger entry ' || :charge_entry),
  'a wrong balance_after breaks the running balance at that row and the next');
update app.ledger set balance_after = balance_after - 1 where entry_id = :first_entry;

-- 3. A ledger amount wrong.
update app.ledger set amount = amount - 100 where entry_id = :charge_entry;
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L), (%L, %L)',
    'user_ledger_sum', 'user ' || :ann, 'total_ledger_sum', 'all users', 'ledger_running_balance', 'ledger entry ' || :charge_entry),
  'a wrong amount: the sums and the running balance');
update app.ledger set amount = amount + 100 where entry_id = :charge_entry;

-- 4. A payment deleted (its ledger row unlinked first, as the foreign key demands).
create temp table deleted_payment as select * from app.payments where payment_id = :pay;
update app.ledger set payment_id = null where entry_id = :pay_entry;
delete from app.payments where payment_id = :pay;
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L), (%L, %L)',
    'ledger_payment_link', 'ledger entry ' || :pay_entry, 'paid_reservation_payment', 'reservation ' || :res,
    'sold_seat_payment', 'seat ' || :date_id || '/7'),
  'a deleted payment: the ledger row, the PAID reservation and the SOLD seat lack it');
insert into app.payments overriding system value select * from deleted_payment;
update app.ledger set payment_id = :pay where entry_id = :pay_entry;

-- 5. A payment's amount wrong.
update app.payments set amount = amount - 1 where payment_id = :pay;
select set_eq('select * from audit_new',
  format('values (%L, %L), (%L, %L)', 'payment_amount', 'payment ' || :pay, 'payment_ledger', 'payment ' || :pay),
  'a wrong payment amount: not the price, not the ledger''s');
update app.payments set amount = amount + 1 where payment_id = :pay;

select is_empty('select * from audit_new', 'all repaired: nothing reported');

select * from finish();
rollback;
