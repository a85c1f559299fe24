-- Serves api.outbox_dispatch: the oldest undispatched events, in event_id
-- order. Partial, so it holds only the few events not yet handed on, however
-- long the outbox grows. Expected plan:
--   Limit -> LockRows -> Index Scan using outbox_event_id_idx on outbox
create index concurrently if not exists outbox_event_id_idx on app.outbox (event_id) where dispatched_at is null;
