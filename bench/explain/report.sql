-- The study's tables in Markdown, from bench.summary (medians of the reps).
-- Run by run.sh with psql -At -v seats=N.
\set ON_ERROR_STOP on
create temp view s as
select ord, query, config, exec_ms, plan_ms, rows_read, buffers, scans,
       to_char(exec_ms, 'FM999990.000') as ms
from bench.summary;

select format('## %s seats', to_char(:seats, 'FM9 999 999 999'));
select '';
select 'Loaded: ' || format('%s seats (%s SOLD, %s HELD), %s reservations, %s payments, %s ledger rows, '
  '%s queue tickets (%s WAITING in concert 1''s line), %s users.',
  (select count(*) from app.seats), (select count(*) from app.seats where status = 'SOLD'),
  (select count(*) from app.seats where status = 'HELD'), (select count(*) from app.reservations),
  (select count(*) from app.payments), (select count(*) from app.ledger),
  (select count(*) from app.queue_tickets),
  (select count(*) from app.queue_tickets where status = 'WAITING' and concert_id = 1),
  (select count(*) from app.users));
select '';
select 'Execution time in ms (median of the runs), rows read (scan nodes: rows returned + removed by filter, x loops), '
  'plan = the scan nodes. "each index alone" = only that one of sql/indexes on the tables the statement touches.';
select '';
select '| query | no index: ms | rows read | plan | each index alone: ms | all indexes: ms | rows read | plan | generic plan: ms |';
select '|---|---:|---:|---|---|---:|---:|---|---:|';
select format('| %s | %s | %s | %s | %s | %s | %s | %s | %s |',
  a.query, n.ms, n.rows_read, n.scans,
  coalesce((select string_agg(format('%s: %s', e.config, e.ms), '<br>' order by e.config)
            from s e where e.query = a.query and e.config not in ('all', 'none', 'generic', 'table scan')), '(one index: = all)'),
  a.ms, a.rows_read, a.scans,
  coalesce(g.ms || case when g.scans is distinct from a.scans then ' (' || coalesce(g.scans, '-') || ')' else '' end, '-'))
from s a
join s n on n.query = a.query and n.config = 'none'
left join s g on g.query = a.query and g.config = 'generic'
where a.config = 'all'
order by a.ord;
select '';
select 'Planning time (ms, median) with all indexes: ' || string_agg(format('%s %s', query, to_char(plan_ms, 'FM990.000')), '; ' order by ord)
from s where config = 'all';
select '';
select 'The seat queries with no index at all (enable_indexscan, enable_indexonlyscan, enable_bitmapscan off), '
  'beside none of sql/indexes and all of them, in ms:';
select '';
select '| query | no index at all | none of sql/indexes | all indexes | rows read: no index at all / all indexes |';
select '|---|---:|---:|---:|---|';
select format('| %s | %s | %s | %s | %s / %s |', t.query, t.ms, n.ms, a.ms, t.rows_read, a.rows_read)
from s t join s n on n.query = t.query and n.config = 'none' join s a on a.query = t.query and a.config = 'all'
where t.config = 'table scan'
order by t.ord;
