-- api.audit: each corruption of money is reported, by its invariant and subject, and nothing else is.
begin;
select plan(7);

-- Whatever the database held before this test is the baseline: only new findings count
-- (the temp view audit_new, readable by boxoffice_api). Taken before any fixture is made.
select tests.audit_baseline();

-- Fixtures (tests.audit_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); bob holds seat 9 (res9); ann charged 1000 and paid for seat 7 (reservation res, payment pay,
-- its ledger row pay_entry).
select * from tests.audit_world() \gset
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
