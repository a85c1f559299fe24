-- api.seat_list: GET /api/concerts/{id}/dates/{id}/seats, a random date of the client's concert
\set k random(1, 100)
select api.seat_list(t.token, t.concert_id, d.date_id)
from bench.list_tokens t join bench.list_dates d on d.concert_id = t.concert_id and d.k = :k
where t.client = :client_id;
