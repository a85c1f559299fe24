-- api.audit: no rows for a consistent world (charges, a payment, holds live, lapsed, cancelled and expired).
begin;
select plan(3);

-- Whatever the database held before this test is the baseline: only new findings count
-- (the temp view audit_new, readable by boxoffice_api). Taken before any fixture is made.
select tests.audit_baseline();

-- Fixtures (tests.audit_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); bob holds seat 9 (res9); ann charged 1000 and paid for seat 7 (reservation res, payment pay,
-- its ledger row pay_entry).
select * from tests.audit_world() \gset
-- a lapsed hold not yet tidied, an expired one tidied, a cancelled one
select tests.held_reservation(:bob, :date_id, 10, held_at => now() - interval '10 minutes') as lapsed \gset
select tests.reservation(:bob, :date_id, 11, 'EXPIRED', held_at => now() - interval '10 minutes') as expired \gset
select tests.reservation(:bob, :date_id, 11, 'CANCELLED', held_at => now() - interval '3 minutes') as cancelled \gset

set local role boxoffice_api;
select is_empty('select * from audit_new', 'a consistent world breaks no invariant');
select is_empty('select * from api.audit() where subject in (''user ' || :ann || ''', ''user ' || :bob || ''')',
  'nothing about the fixture''s users');
select lives_ok('select * from api.audit()', 'the server''s role may run the audit');

select * from finish();
rollback;
