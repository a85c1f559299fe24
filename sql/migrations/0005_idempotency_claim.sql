-- app.idempotency_begin raised CR204 for a key reused with another request
-- before the token was checked; app.idempotency_claim (sql/procedures/00_common.sql)
-- reports it instead, so the caller raises it in API.md §3's order (a dead
-- token's 410 before the 409). The old helper goes; nothing else calls it.
drop function if exists app.idempotency_begin(bigint, text, text);
