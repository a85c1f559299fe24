-- api.seat_hold: POST /api/reservations, the next free seat in a shuffled list (every call a 201)
select h.status
from bench.hold_seats s
join bench.tokens t on t.client = :client_id and t.concert_id = s.concert_id,
lateral api.seat_hold(t.token, s.concert_id, s.date_id, s.seat_no) h
where s.n = (select nextval('bench.hold_seq'));
