-- api.reservation_get: GET /api/reservations/{id}, one of the first 6 000
-- prepared holds at random (setup.sql's pay_count; fewer prepared, fewer found)
\set n random(1, 6000)
select api.reservation_get(p.token, p.reservation_id) from bench.pay_holds p where p.n = :n;
