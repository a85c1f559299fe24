-- Serves app.ticket_json (the position in api.queue_status / api.queue_join):
-- the count of tickets between the concert's admitted_upto watermark and the
-- caller's ticket that left the line without being admitted (LEFT, or EXPIRED
-- while WAITING). Only such tickets are in the index, so the count reads the
-- departures ahead and nothing else, whatever the length of the line.
-- Expected plan: Aggregate over an Index Only Scan using
-- queue_tickets_concert_id_queue_no_departed_idx, Index Cond:
-- (concert_id = ...) AND (queue_no > ...) AND (queue_no < ...).
create index concurrently if not exists queue_tickets_concert_id_queue_no_departed_idx
  on app.queue_tickets (concert_id, queue_no)
  where activated_at is null and status <> 'WAITING';
