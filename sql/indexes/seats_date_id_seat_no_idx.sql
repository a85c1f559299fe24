-- The free seats of a date and the free-seat count of each date:
-- app.seat_free_list (api.seat_list) and app.date_availability_list
-- (api.concert_dates), both filtering
--   s.date_id = $1 and s.status <> 'SOLD'
--   and (s.hold_expires_at is null or s.hold_expires_at <= $now).
-- The seat primary key covers date_id too, but this partial index leaves sold
-- seats out (a popular date shrinks to its few free seats) and carries price and
-- hold_expires_at, so the whole filter is answered from the index, with an
-- Index Only Scan once the visibility map allows. Expected plans:
--   seat_list:     Index Scan (or Index Only Scan) using seats_date_id_seat_no_idx on seats
--                    Index Cond: (date_id = $1)  Filter: (hold_expires_at is null or hold_expires_at <= $now)
--   concert_dates: Index Scan using concert_dates_concert_id_starts_at_key on concert_dates
--                  -> Aggregate -> Index (Only) Scan using seats_date_id_seat_no_idx on seats, per date
-- (checked by sql/tests/explain). The dates side needs no index of its own:
-- the constraint concert_dates_concert_id_starts_at_key is (concert_id, starts_at).
create index concurrently if not exists seats_date_id_seat_no_idx
  on app.seats (date_id, seat_no) include (price, hold_expires_at)
  where status <> 'SOLD';
