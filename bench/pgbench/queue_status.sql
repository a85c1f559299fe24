-- api.queue_status: GET /api/queue/tokens/me, a random ticket of a line of WAITING tickets
\set n random(1, :poll_tokens)
select api.queue_status(p.token) from bench.poll_tokens p where p.n = :n;
