-- Serves api.webhook_claim: the PENDING events that are due, oldest due first.
-- Partial, so it holds only the events not yet delivered or dead. Expected plan:
--   Limit -> LockRows -> Index Scan using outbox_next_attempt_at_idx on outbox
create index concurrently if not exists outbox_next_attempt_at_idx
  on app.outbox (next_attempt_at, event_id) where delivery_status = 'PENDING';
