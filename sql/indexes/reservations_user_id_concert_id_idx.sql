-- Live holds of one token (a user and a concert): api.seat_hold counts them
-- against MAX_HOLDS_PER_TOKEN before it holds another seat,
--   where r.user_id = $1 and r.concert_id = $2 and r.live and r.status = 'HELD' and r.expires_at > $now.
-- Only live reservations (HELD or PAID) are in it, so the count reads a
-- user's few. The predicate is the generated column live, not status: a
-- payment turns HELD into PAID, which leaves live true, so that update stays
-- HOT (a predicate on status would make every payment write every index).
-- Expected plan:
--   Aggregate -> Index Scan using reservations_user_id_concert_id_idx on reservations
--                 Index Cond: ((user_id = $1) AND (concert_id = $2) AND (expires_at > $now))
--                 Filter: (status = 'HELD')
create index concurrently if not exists reservations_user_id_concert_id_idx
  on app.reservations (user_id, concert_id, expires_at)
  where live;
