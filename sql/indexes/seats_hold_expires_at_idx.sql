-- Lapsed holds: api.holds_expire, every 2 seconds,
--   where s.status = 'HELD' and s.hold_expires_at <= $now for update skip locked.
-- Only held seats are in it, so the sweep reads the few lapsed entries and
-- never the (many) free or sold seats. Expected plan:
--   LockRows -> Index Scan using seats_hold_expires_at_idx on seats
--                 Index Cond: (hold_expires_at <= $now)
-- (checked by sql/tests/explain).
create index concurrently if not exists seats_hold_expires_at_idx
  on app.seats (hold_expires_at)
  where status = 'HELD';
