-- api.payment_create in SERIALIZABLE, as the server runs it (user_id and an Idempotency-Key, a generic plan):
-- the SSI read locks (SIReadLock) it keeps are on its own rows and on index pages that no other payment writes
-- into. Any other read lock turns neighbouring payments into read/write conflicts, and one of two such payments
-- fails with 40001 (sql/tests/payment_create/interleaved.sh shows it with three sessions):
--   - seats_hold_expires_at_idx, or the whole of app.seats: a seat update whose WHERE names status = 'HELD'
--     can be planned as a scan of every held seat, and was, as a generic plan made while the statistics knew of
--     few held seats (an on-sale's first minute); its locks on every held seat were promoted to the table;
--   - queue_tickets_pkey: a used-up ticket's new version goes there (the token is read on
--     queue_tickets_active_token_idx instead);
--   - idempotency_keys_pkey: every claim inserts there (app.idempotency_finish writes by an upsert, whose
--     dirty-snapshot probe takes no lock).
begin isolation level serializable;
select plan(5);

-- Fixtures (tests.payment_world()): ann holds seat 7 of date_id through res, ACTIVE on concert, 80000 each.
select * from tests.payment_world() \gset
-- Statistics taken now, with one held seat; plans made once, for any parameters.
analyze app.seats;
set local plan_cache_mode = force_generic_plan;

set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res, user_id => :ann, idempotency_key => 'locks 1') ->> 'status' as paid \gset
reset role;
select is(:'paid'::text, 'COMPLETED', 'the payment went through');

create temp table mine as
select l.locktype, c.relname
from pg_locks l left join pg_class c on c.oid = l.relation
where l.pid = pg_backend_pid() and l.mode = 'SIReadLock';

select is((select count(*) from mine where relname = 'seats' and locktype = 'relation'), 0::bigint,
  'no read lock on the whole of app.seats');
select is((select count(*) from mine where relname = 'seats_hold_expires_at_idx'), 0::bigint,
  'no read lock on seats_hold_expires_at_idx (every held seat)');
select is((select count(*) from mine where relname = 'queue_tickets_pkey'), 0::bigint,
  'no read lock on queue_tickets_pkey, where used-up tickets go');
select is((select count(*) from mine where relname = 'idempotency_keys_pkey'), 0::bigint,
  'no read lock on idempotency_keys_pkey, where every claim goes');

select * from finish();
rollback;
