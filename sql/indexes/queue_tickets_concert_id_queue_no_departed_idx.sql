-- Serves app.queue_departed (the position in api.queue_status / api.queue_join,
-- through app.ticket_json): the count of tickets that left the line without
-- being admitted (LEFT, or EXPIRED while WAITING) inside the two partial
-- blocks of 1 024 queue numbers at the ends of the span between the
-- concert's watermark and the caller's ticket; the whole blocks and groups in
-- between come from the counters in app.queue_blocks. Only such tickets are
-- in the index, so each count reads at most the departures of one block
-- (1 023 entries), whatever the length of the line and the departures ahead.
-- Expected plan: Aggregate over an Index Only Scan using
-- queue_tickets_concert_id_queue_no_departed_idx, Index Cond:
-- (concert_id = ...) AND (queue_no > ...) AND (queue_no < ...).
create index concurrently if not exists queue_tickets_concert_id_queue_no_departed_idx
  on app.queue_tickets (concert_id, queue_no)
  where activated_at is null and status <> 'WAITING';
