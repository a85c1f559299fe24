-- Serves api.webhook_list (an event's last attempt) and the attempts of one
-- event in order. Expected plan for the last attempt:
--   Limit -> Index Scan Backward using webhook_attempts_event_id_attempt_id_idx on webhook_attempts
create index concurrently if not exists webhook_attempts_event_id_attempt_id_idx
  on app.webhook_attempts (event_id, attempt_id);
