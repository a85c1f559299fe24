-- Serves the foreign key ledger_payment_id_fkey (a payment cannot be deleted
-- or re-keyed without finding its ledger rows) and a DBA's "ledger row of
-- payment N". Only PAYMENT (and future REFUND) rows carry a payment_id, so it
-- is partial. Expected plan for `select * from app.ledger where payment_id = $1`:
--   Index Scan using ledger_payment_id_idx on ledger  Index Cond: (payment_id = $1)
create index concurrently if not exists ledger_payment_id_idx on app.ledger (payment_id) where payment_id is not null;
