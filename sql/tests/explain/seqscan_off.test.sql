-- The functions of the on-sale's hot path say set enable_seqscan = off (sql/procedures/20_queue.sql, "Plans"):
-- PL/pgSQL keeps a statement's generic plan for the session, and plans made while an on-sale's tables were
-- nearly empty read them whole ever after (queue_status/plans_made_early.test.sql shows it for the poll). A
-- function added to the path, or one that loses the setting, fails here. Each also says set jit = off: with
-- sequential scans off, a statement that can only scan (app.queue_line's one row) is costed past jit_above_cost,
-- and JIT compiled it on every call (55-290 ms each, in an on-sale's admission runs).
begin;
select plan(3);

select is(
  array(select p.oid::regprocedure::text
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'app'
          and p.proname in ('ticket_find', 'ticket_json', 'ticket_seen', 'queue_join', 'queue_status', 'queue_leave',
                            'queue_line_close', 'queue_admit_next', 'tokens_expire', 'queue_blocks_add',
                            'queue_departed', 'queue_arrivals_count', 'queue_arrived', 'queue_count',
                            'queue_count_help', 'concert_dates', 'seat_list',
                            'reservation_get', 'reservation_cancel', 'seat_hold', 'holds_expire', 'balance_get',
                            'balance_charge', 'balance_history', 'payment_create')
          and not coalesce('enable_seqscan=off' = any (p.proconfig), false)
        order by 1),
  '{}'::text[],
  'every function of the hot path says set enable_seqscan = off');

select is(
  array(select p.oid::regprocedure::text
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'app' and 'enable_seqscan=off' = any (p.proconfig)
          and not coalesce('jit=off' = any (p.proconfig), false)
        order by 1),
  '{}'::text[],
  'every function that turns sequential scans off turns JIT off too');

-- A position's count of arrivals is one statement of index ranges. Left to the
-- default plan_cache_mode, PostgreSQL estimated its custom plans cheaper than
-- the generic one and planned it again on every poll (0.26 ms, three times
-- what it takes to run): it keeps one plan per session.
select ok((select 'plan_cache_mode=force_generic_plan' = any (p.proconfig)
           from pg_proc p where p.oid = 'app.queue_arrived(bigint, bigint, bigint, bigint)'::regprocedure),
          'app.queue_arrived plans its statement once per session');

select * from finish();
rollback;
