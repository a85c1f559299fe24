-- Serves the WAITING half of api.tokens_expire: tickets not polled for
-- waiting_idle_seconds (status = 'WAITING' and last_seen_at <= now - idle).
-- Expected plan: Index Scan using queue_tickets_last_seen_at_idx, Index Cond:
-- (last_seen_at <= ...), under LockRows and Limit: only the idle tickets are
-- read, not the million that are still polling. (The poll's write of
-- last_seen_at is throttled to one per ticket per 30 s, which keeps the cost
-- of maintaining this index low.)
create index concurrently if not exists queue_tickets_last_seen_at_idx
  on app.queue_tickets (last_seen_at)
  where status = 'WAITING';
