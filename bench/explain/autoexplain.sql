-- The check on queries.sql: call the real api functions, seven times, with
-- auto_explain logging (the last time) the plan of every statement they run (nested ones
-- included) to this client (client_min_messages = log) rather than to the
-- server log, and roll everything back. run.sh pipes stderr through
-- autoexplain.py, which prints each statement with its time, rows read and
-- scan nodes (out/<scale>.auto_explain.txt). The parameters come from bench.v.
\set ON_ERROR_STOP on
select value as now from bench.v where name = 'now' \gset
select value as token_active from bench.v where name = 'token_active' \gset
select value as token_front from bench.v where name = 'token_waiting_front' \gset
select value as token_back from bench.v where name = 'token_waiting_back' \gset
select value as token_user1 from bench.v where name = 'token_user1' \gset
select value as hot_date from bench.v where name = 'hot_date' \gset
select value as free_seat from bench.v where name = 'free_seat' \gset
select value as new_user from bench.v where name = 'new_user' \gset
-- Six rounds of calls first, each rolled back, so that PL/pgSQL's plan cache
-- has made its choice (custom or generic plan) by the seventh, which is logged.
begin;
savepoint w; \ir autoexplain_calls.sql
rollback to w; \ir autoexplain_calls.sql
rollback to w; \ir autoexplain_calls.sql
rollback to w; \ir autoexplain_calls.sql
rollback to w; \ir autoexplain_calls.sql
rollback to w; \ir autoexplain_calls.sql
rollback to w;
load 'auto_explain';
set local auto_explain.log_min_duration = 0;
set local auto_explain.log_nested_statements = on;
set local auto_explain.log_analyze = on;
set local auto_explain.log_buffers = on;
set local auto_explain.log_format = json;
set local client_min_messages = log;
\ir autoexplain_calls.sql
rollback;
