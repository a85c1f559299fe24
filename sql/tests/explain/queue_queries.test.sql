-- EXPLAIN of the waiting room at scale: 100 000 WAITING tickets in one concert's line, behind 10 000 tickets
-- already through it and the ACTIVE set. The position (api.queue_status), the admission (api.queue_admit) and the
-- token expiry (api.tokens_expire) must read through their indexes, never a Seq Scan of queue_tickets, and read
-- few rows whatever the length of the line.
-- Three kinds of check per query:
--   - EXPLAIN (FORMAT JSON) of the statement, copied from sql/procedures with the PL/pgSQL variables as
--     parameters: the custom plan (literal values) and the generic plan PL/pgSQL may switch to after five calls;
--   - EXPLAIN (ANALYZE, FORMAT JSON) of it: the rows its scan nodes read;
--   - the real api function called eight times in this session (so that PL/pgSQL's plan cache has made its
--     choice): pg_stat_xact_user_tables must show no sequential scan of queue_tickets and few rows fetched.
begin;
select plan(31);

-- The plan helpers (tests.plan, tests.generic_plan, tests.analyzed_plan, tests.uses_index, tests.no_seq_scan,
-- tests.rows_read, tests.table_reads) are in sql/testing/fixtures/80_explain.sql.

-- The clock of the whole test: t0.
select date_trunc('second', now()) as t0 \gset
select tests.setting('queue_active_cap', 100);
select tests.setting('active_token_seconds', 600);
select tests.setting('waiting_idle_seconds', 300);

insert into app.concerts (title, venue) values ('explain queue', 'Hall') returning concert_id as concert \gset
insert into app.queues (concert_id) values (:concert);
create temp table u as
with ins as (insert into app.users (name) select 'q ' || g from generate_series(1, 100100) g returning user_id)
select row_number() over (order by user_id) as i, user_id from ins;
-- 10 000 tickets through the line long ago (USED, EXPIRED after admission, some LEFT): their old last_seen_at is
-- what misleads the planner about the idle WAITING tickets.
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at, ended_at)
select :concert, u.i, u.user_id, x.status, :'t0'::timestamptz - interval '3 hours', :'t0'::timestamptz - interval '2 hours',
       case when x.status <> 'LEFT' then :'t0'::timestamptz - interval '2 hours' end,
       case when x.status <> 'LEFT' then :'t0'::timestamptz - interval '110 minutes' end,
       :'t0'::timestamptz - interval '110 minutes'
from u cross join lateral (select case when u.i % 20 = 0 then 'LEFT' when u.i % 3 = 0 then 'EXPIRED' else 'USED' end as status) x
where u.i <= 10000;
-- The ACTIVE set: 100, of which 10 past expires_at.
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
select :concert, 10000 + u.i, u.user_id, 'ACTIVE', :'t0'::timestamptz - interval '1 hour', :'t0'::timestamptz - interval '10 s',
       :'t0'::timestamptz - interval '9 minutes',
       :'t0'::timestamptz + case when u.i <= 10 then interval '-10 s' else interval '1 minute' end
from u where u.i <= 100;
-- The line: 100 000 tickets, of which 2 % left it (LEFT) and 50 are idle (not polled for 10 minutes, still
-- WAITING).
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, ended_at)
select :concert, 10100 + u.i - 100, u.user_id, x.status, :'t0'::timestamptz - interval '50 minutes',
       :'t0'::timestamptz - case when u.i % 2000 = 1000 then interval '10 minutes' else (u.i % 30) * interval '1 s' end,
       case when x.status <> 'WAITING' then :'t0'::timestamptz - interval '20 minutes' end
from u cross join lateral (select case when u.i % 100 in (7, 77) then 'LEFT' else 'WAITING' end as status) x
where u.i > 100;
-- (numbers loaded past the API: the sequence and the closed part of the line move past them)
select setval('app.queue_tickets_queue_no_seq', greatest((select max(queue_no) from app.queue_tickets),
                                                         (select last_value from app.queue_tickets_queue_no_seq))) \g /dev/null
update app.queue_line set closed_below = (select last_value + 1 from app.queue_tickets_queue_no_seq);
update app.queues set admitted_upto = 10100, admit_rate = 0.2 where concert_id = :concert;
analyze app.users;
analyze app.queues;
analyze app.queue_tickets;

-- Loaded set-based, past the API: count the departures as the API would have (app.queue_blocks).
select api.queue_blocks_rebuild(:concert) as counted \gset
-- The counters of 20 other lines of 1 000 000 with departures all along (as on a busy night), so that the
-- table is not a page or two that any plan reads whole.
with c as (insert into app.concerts (title, venue) select 'explain other ' || g, 'Hall' from generate_series(1, 20) g
           returning concert_id)
insert into app.queue_blocks (concert_id, block_size, block_no, departed)
select c.concert_id, s.block_size, b, 10
from c cross join (values (1024), (32768)) s(block_size) cross join generate_series(0, 1000000 / s.block_size) b;
analyze app.queue_blocks;

select count(*) as departed_ahead from app.queue_tickets t
where t.concert_id = :concert and t.queue_no > 10100 and t.status = 'LEFT' \gset
select t.token as back_token, t.queue_no as back_no from app.queue_tickets t
where t.concert_id = :concert and t.status = 'WAITING' order by t.queue_no desc limit 1 \gset
-- the departures of the two partial blocks at the ends: after the watermark in its block, before the ticket in its
select count(*) as departed_partial from app.queue_tickets t
where t.concert_id = :concert and t.status = 'LEFT'
  and ((t.queue_no > 10100 and t.queue_no < (10100 / 1024 + 1) * 1024)
       or (t.queue_no >= :back_no / 1024 * 1024 and t.queue_no < :back_no)) \gset
select is((select count(*) from app.queue_tickets t where t.concert_id = :concert and t.status = 'WAITING'), 98000::bigint,
  '98 000 WAITING tickets in line (100 000 less 2 % who left)');

-- Queue position (app.ticket_json in api.queue_status), the last ticket in line: the departures between the
-- watermark and the ticket, app.queue_departed's statement for two ends in different groups of 32 768 ($1 the
-- concert, $2 the watermark, $3 the ticket's queue_no; PL/pgSQL's locals written out as expressions).
\set position_query 'select (select count(*) from app.queue_tickets d where d.concert_id = $1 and d.queue_no > $2 and d.queue_no < ($2 / 1024 + 1) * 1024 and d.activated_at is null and d.status <> ''WAITING'') + (select count(*) from app.queue_tickets d where d.concert_id = $1 and d.queue_no >= $3 / 1024 * 1024 and d.queue_no < $3 and d.activated_at is null and d.status <> ''WAITING'') + (select coalesce(sum(b.departed), 0)::bigint from app.queue_blocks b where b.concert_id = $1 and b.block_size = 1024 and b.block_no > $2 / 1024 and b.block_no < least($3 / 1024, ($2 / 32768 + 1) * 32)) + (select coalesce(sum(b.departed), 0)::bigint from app.queue_blocks b where b.concert_id = $1 and b.block_size = 1024 and b.block_no >= greatest($3 / 32768, $2 / 32768 + 1) * 32 and b.block_no < $3 / 1024) + (select coalesce(sum(b.departed), 0)::bigint from app.queue_blocks b where b.concert_id = $1 and b.block_size = 32768 and b.block_no > $2 / 32768 and b.block_no < $3 / 32768)'
select replace(replace(replace(:'position_query', '$1', :'concert'), '$2', '10100::bigint'), '$3', :'back_no' || '::bigint') as position_literal \gset
select tests.plan(:'position_literal') as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_queue_no_departed_idx', 'position: queue_tickets_concert_id_queue_no_departed_idx');
select tests.no_seq_scan(:'p', 'queue_tickets', 'position: no Seq Scan on queue_tickets');
select tests.uses_index(:'p', 'queue_blocks_pkey', 'position: the counters on queue_blocks_pkey');
select tests.generic_plan(:'position_query', 'bigint, bigint, bigint', format('%s, 10100, %s', :concert, :back_no)) as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_queue_no_departed_idx', 'position, generic plan: queue_tickets_concert_id_queue_no_departed_idx');
select tests.uses_index(:'p', 'queue_blocks_pkey', 'position, generic plan: the counters on queue_blocks_pkey');
select tests.analyzed_plan(:'position_literal') as p \gset
select is(tests.rows_read(:'p', 'queue_tickets'), :departed_partial::bigint,
  format('position of the last in line: reads the %s departures of the two partial blocks, not the %s ahead',
         :departed_partial, :departed_ahead));
select cmp_ok(tests.rows_read(:'p', 'queue_blocks'), '<=', 93::bigint,
  'and at most 31 group and 62 block counters');

select * from tests.table_reads('queue_tickets') \gset before_
select app.queue_status(:'back_token', :'t0'::timestamptz + g * interval '1 s') from generate_series(1, 8) g \g /dev/null
select * from tests.table_reads('queue_tickets') \gset after_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.queue_status x 8: no Seq Scan of queue_tickets');
-- (app.queue_arrived counts the tickets of the same two partial blocks on the unique index: at most 2 x 1 023)
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<=', 8 * (:departed_partial + 2 * 1023 + 10)::bigint,
  'api.queue_status x 8: fetches a few rows per poll beyond the tickets of the two partial blocks');
select is((app.queue_status(:'back_token', :'t0')) ->> 'position', (:back_no - 10100 - :departed_ahead)::text,
  'the position is right at this scale');

-- Admission (api.queue_admit): the ACTIVE count, the claim of the next tickets, the watermark.
\set active_query 'select 100 - count(*) from app.queue_tickets t where t.concert_id = $1 and t.status = ''ACTIVE'' and t.expires_at > $2'
select tests.plan(format(replace(replace(:'active_query', '$1', '%s'), '$2', '%L'), :concert, :'t0')) as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_expires_at_idx', 'ACTIVE count: queue_tickets_concert_id_expires_at_idx');
select tests.generic_plan(:'active_query', 'bigint, timestamptz', format('%s, %L', :concert, :'t0')) as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_expires_at_idx', 'ACTIVE count, generic plan: queue_tickets_concert_id_expires_at_idx');
select tests.analyzed_plan(format(replace(replace(:'active_query', '$1', '%s'), '$2', '%L'), :concert, :'t0')) as p \gset
select cmp_ok(tests.rows_read(:'p', 'queue_tickets'), '<=', 100::bigint, 'ACTIVE count: reads at most the ACTIVE set');

\set claim_query 'with claimed as (select t.token, t.last_seen_at <= $4 as idle from app.queue_tickets t where t.concert_id = $1 and t.queue_no > $2 and t.status = ''WAITING'' order by t.queue_no limit $3 for update), changed as (update app.queue_tickets t set status = case when c.idle then ''EXPIRED'' else ''ACTIVE'' end, activated_at = case when c.idle then null else $5 end, expires_at = case when c.idle then null else $5 + $6 end, ended_at = case when c.idle then $5 end from claimed c where t.token = c.token returning t.queue_no, t.status = ''ACTIVE'' as admitted) select count(*), count(*) filter (where ch.admitted), max(ch.queue_no) from changed ch'
select format('(%s, 10100, 100, %L::timestamptz - interval ''300 s'', %L::timestamptz, interval ''600 s'')',
  :concert, :'t0', :'t0') as claim_args \gset
prepare pg_temp_claim (bigint, bigint, bigint, timestamptz, timestamptz, interval) as :claim_query;
set local plan_cache_mode = force_custom_plan;
select tests.plan('execute pg_temp_claim ' || :'claim_args') as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_queue_no_key', 'claim: queue_tickets_concert_id_queue_no_key from the watermark');
select tests.no_seq_scan(:'p', 'queue_tickets', 'claim: no Seq Scan on queue_tickets');
select tests.analyzed_plan('execute pg_temp_claim ' || :'claim_args') as p \gset
select cmp_ok(tests.rows_read(:'p', 'queue_tickets'), '<=', 250::bigint, 'claim of 100: reads about 100 tickets twice (claim, update) and the departures among them');
set local plan_cache_mode = force_generic_plan;
select tests.plan('execute pg_temp_claim ' || :'claim_args') as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_queue_no_key', 'claim, generic plan: queue_tickets_concert_id_queue_no_key');
reset plan_cache_mode;
deallocate pg_temp_claim;

\set watermark_query 'select coalesce((select t.queue_no - 1 from app.queue_tickets t where t.concert_id = $1 and t.queue_no > $2 and t.status = ''WAITING'' order by t.queue_no limit 1), $3)'
select tests.generic_plan(:'watermark_query', 'bigint, bigint, bigint', format('%s, 10200, 110000', :concert)) as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_queue_no_key', 'watermark, generic plan: queue_tickets_concert_id_queue_no_key');

-- The real job, eight runs, each admitting 100 (the previous 100 have lapsed by then).
select tests.setting('waiting_idle_seconds', 86400);
select * from tests.table_reads('queue_tickets') \gset before_
select is(sum(app.queue_admit(:'t0'::timestamptz + g * interval '11 minutes'))::bigint, 800::bigint,
  'api.queue_admit x 8 admits 100 each time')
from generate_series(1, 8) g;
select * from tests.table_reads('queue_tickets') \gset after_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.queue_admit x 8: no Seq Scan of queue_tickets');
-- (the claim, the check for a skipped ticket, the watermark and the concert's probe each read the batch)
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<=', 8 * 500::bigint,
  'api.queue_admit x 8: fetches a few hundred rows per run, not the line');
select tests.setting('waiting_idle_seconds', 300);

-- Token expiry (api.tokens_expire), both halves.
\set expire_active_query 'update app.queue_tickets t set status = ''EXPIRED'', ended_at = $1 where t.token = any (array(select d.token from app.queue_tickets d where d.status = ''ACTIVE'' and d.expires_at <= $1 limit $2 for update skip locked))'
\set expire_waiting_query 'update app.queue_tickets t set status = ''EXPIRED'', ended_at = $3 where t.token = any (array(select d.token from app.queue_tickets d where d.status = ''WAITING'' and d.last_seen_at <= $1 order by d.last_seen_at limit $2 for update skip locked))'
select tests.plan(format(replace(replace(:'expire_active_query', '$1', '%L::timestamptz'), '$2', '10000'), :'t0', :'t0')) as p \gset
select tests.uses_index(:'p', 'queue_tickets_concert_id_expires_at_idx', 'expiry, ACTIVE: queue_tickets_concert_id_expires_at_idx');
select tests.no_seq_scan(:'p', 'queue_tickets', 'expiry, ACTIVE: no Seq Scan on queue_tickets');
select tests.generic_plan(:'expire_active_query', 'timestamptz, integer', format('%L, 10000', :'t0')) as p \gset
select tests.no_seq_scan(:'p', 'queue_tickets', 'expiry, ACTIVE, generic plan: no Seq Scan on queue_tickets');
select tests.plan(format(replace(replace(replace(:'expire_waiting_query', '$1', '%L::timestamptz - interval ''300 s'''), '$2', '10000'), '$3', '%L::timestamptz'), :'t0', :'t0')) as p \gset
select tests.uses_index(:'p', 'queue_tickets_last_seen_at_idx', 'expiry, WAITING: queue_tickets_last_seen_at_idx');
select tests.no_seq_scan(:'p', 'queue_tickets', 'expiry, WAITING: no Seq Scan on queue_tickets');
select tests.generic_plan(:'expire_waiting_query', 'timestamptz, integer, timestamptz',
  format('%L::timestamptz - interval ''300 s'', 10000, %L', :'t0', :'t0')) as p \gset
select tests.no_seq_scan(:'p', 'queue_tickets', 'expiry, WAITING, generic plan: no Seq Scan on queue_tickets');
select tests.analyzed_plan(format(replace(replace(replace(:'expire_waiting_query', '$1', '%L::timestamptz - interval ''300 s'''), '$2', '10000'), '$3', '%L::timestamptz'), :'t0', :'t0')) as p \gset
select cmp_ok(tests.rows_read(:'p', 'queue_tickets'), '<=', 200::bigint, 'expiry, WAITING: reads the 50 idle tickets (twice), not the line');

select * from tests.table_reads('queue_tickets') \gset before_
select app.tokens_expire(:'t0'::timestamptz + g * interval '1 s') from generate_series(1, 8) g \g /dev/null
select * from tests.table_reads('queue_tickets') \gset after_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.tokens_expire x 8: no Seq Scan of queue_tickets');
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<=', 2000::bigint,
  'api.tokens_expire x 8: fetches the due tickets, not the line');

select * from finish();
rollback;
