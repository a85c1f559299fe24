-- Seats sold per concert, for /metrics (api.onsale_metrics, once per scrape):
--   where s.status = 'SOLD' and s.concert_id = $1
-- Only sold seats are in it, so a scrape counts a concert's sales, not its
-- seats. Expected plan: Index Only Scan using seats_concert_id_sold_idx.
-- A sale already changes an indexed column of the seat (status is in
-- seats_date_id_seat_no_idx's predicate), so this adds one index entry per
-- sale and no lost HOT update.
create index concurrently if not exists seats_concert_id_sold_idx
  on app.seats (concert_id)
  where status = 'SOLD';
