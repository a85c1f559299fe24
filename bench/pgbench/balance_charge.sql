-- api.balance_charge: POST /api/balance/charge, 1 000 won to the client's own user
select api.balance_charge(t.token, 1000) from bench.list_tokens t where t.client = :client_id;
