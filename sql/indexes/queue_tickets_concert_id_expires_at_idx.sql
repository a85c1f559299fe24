-- Serves api.queue_admit's count of a concert's ACTIVE set
-- (status = 'ACTIVE' and concert_id = ... and expires_at > now) and the ACTIVE
-- half of api.tokens_expire (status = 'ACTIVE' and expires_at <= now), which
-- reads this small index (at most queue_active_cap entries per concert) whole.
-- Expected plans: Aggregate over an Index Only Scan using
-- queue_tickets_concert_id_expires_at_idx, Index Cond: (concert_id = ...) AND
-- (expires_at > ...); for the sweep an Index Scan using it with a Filter on
-- expires_at, never a Seq Scan of queue_tickets.
create index concurrently if not exists queue_tickets_concert_id_expires_at_idx
  on app.queue_tickets (concert_id, expires_at)
  where status = 'ACTIVE';
