-- api.concert_dates: GET /api/concerts/{id}/dates, the client's own ACTIVE token
select api.concert_dates(t.token, t.concert_id) from bench.list_tokens t where t.client = :client_id;
