-- A poll's plans, made while the line was short, still read the line through its indexes once it is long.
-- PL/pgSQL keeps a statement's generic plan for the rest of the session after its first five calls, and an
-- on-sale's line grows from nothing to thousands in seconds: a server connection whose plans were made while
-- app.queue_tickets was a page long (where a Seq Scan is the cheapest plan) kept scanning the whole line on
-- every poll. The queue functions say set enable_seqscan = off (sql/procedures/20_queue.sql, "Plans"), and this
-- fails without it: the polls below scan app.queue_tickets sequentially.
begin;
select plan(3);

-- A short line: three WAITING tickets of a concert of their own; the first is polled ten times, so that every
-- statement of the poll is past its five custom plans and has its generic plan made while the line is short.
select tests.concert() as concert \gset
create temp table early as
select u.n, u.user_id, tests.waiting_ticket(u.user_id, :concert) as token from tests.users(3, 'early') u;
-- Statistics taken now, as an on-sale's database has them from before the sale (the planner then trusts the
-- line's real size, one page).
analyze app.queue_tickets;
select count(*) from early e, generate_series(1, 10) g, lateral app.queue_status(e.token, now()) s where e.n = 1 \g /dev/null

-- The line grows to 3 000, in a few statements (no analyze, as in an on-sale's first seconds).
select count(*) from tests.users(2997, 'late') u, lateral tests.waiting_ticket(u.user_id, :concert) t \g /dev/null
select token as last from app.queue_tickets where concert_id = :concert order by queue_no desc limit 1 \gset

-- Polls of the last ticket in the long line.
select seq_scan as before from pg_stat_xact_user_tables where relid = 'app.queue_tickets'::regclass \gset
select app.queue_status(:'last', now()) ->> 'position' as position from generate_series(1, 10) \g /dev/null
select app.queue_status(:'last', now()) ->> 'position' as position \gset
select seq_scan as after from pg_stat_xact_user_tables where relid = 'app.queue_tickets'::regclass \gset

select is(:'position'::integer, 3000, 'the last of 3 000 is at position 3 000');
select is(:after::bigint - :before::bigint, 0::bigint, 'eleven polls of the long line read no part of it sequentially');
select is((select count(*) from app.queue_tickets where concert_id = :concert and status = 'WAITING'), 3000::bigint,
  'the line is 3 000 long');

select * from finish();
rollback;
