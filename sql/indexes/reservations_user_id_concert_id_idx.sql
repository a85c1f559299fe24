-- Live holds of one token (a user and a concert): api.seat_hold counts them
-- against MAX_HOLDS_PER_TOKEN before it holds another seat,
--   where r.user_id = $1 and r.concert_id = $2 and r.status = 'HELD' and r.expires_at > $now.
-- Only HELD reservations are in it, so the count reads a user's few holds.
-- Expected plan:
--   Aggregate -> Index Only Scan using reservations_user_id_concert_id_idx on reservations
--                 Index Cond: ((user_id = $1) AND (concert_id = $2) AND (expires_at > $now))
create index concurrently if not exists reservations_user_id_concert_id_idx
  on app.reservations (user_id, concert_id, expires_at)
  where status = 'HELD';
