-- api.payment_create: POST /api/payments, in SERIALIZABLE as the server runs
-- it; pgbench --max-tries retries 40001/40P01 as the server does (and puts
-- :i back as it was, so a retry pays the same reservation). Client c pays
-- holds c, c + clients, c + 2 clients, ...: at any moment the clients pay
-- neighbouring seats, as the HTTP scenario's virtual users do.
\set i :i + 1
begin isolation level serializable;
select api.payment_create(p.token, p.reservation_id) from bench.pay_holds p where p.n = (:i - 1) * :clients + :client_id + 1;
commit;
