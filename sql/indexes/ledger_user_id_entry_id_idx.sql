-- Serves api.balance_history (a user's newest ledger rows, entry_id desc,
-- limit 1..100). Expected plan for a user with many rows:
--   Limit -> Index Scan Backward using ledger_user_id_entry_id_idx on ledger l
--              Index Cond: (user_id = $1)
-- (for a user with a few dozen rows the planner may pick a Bitmap Index Scan
-- on it plus a small Sort; either way only that user's rows are read).
-- Also covers the foreign key ledger_user_id_fkey (user_id leads).
create index concurrently if not exists ledger_user_id_entry_id_idx on app.ledger (user_id, entry_id);
