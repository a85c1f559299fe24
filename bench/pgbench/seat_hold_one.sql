-- api.seat_hold: POST /api/reservations, every client after the same seat
-- (one 201, then 200 for the winner and 409 for the others, caught by
-- bench.seat_hold_status so that pgbench does not stop the client)
select bench.seat_hold_status(t.token, c.concert_id, c.date_id, c.seat_no)
from bench.contested c join bench.tokens t on t.client = :client_id and t.concert_id = c.concert_id;
