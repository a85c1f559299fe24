-- The EXPLAIN study's machinery: run every statement of bench.queries under
-- EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) with the indexes of sql/indexes all
-- there, each alone, and none, and keep the plans in bench.results.
--
-- An index configuration is made by DROP INDEX inside a subtransaction that
-- is rolled back afterwards (the data and the other indexes are untouched;
-- the indexes behind primary keys and unique constraints of the migrations
-- always stay, since they are part of the tables). Each statement runs once to
-- warm up, then :reps times; every run is rolled back too, so that DML
-- statements (the seat hold, the jobs, the payment) see the same rows each time.
-- Plans are custom plans (plan_cache_mode = force_custom_plan, what PL/pgSQL
-- uses for a statement's first five runs and keeps while it is cheaper); the
-- generic plan PL/pgSQL may switch to is measured too, with all indexes.
\set ON_ERROR_STOP on

-- The indexes of sql/indexes (run.sh fills it from the file names).
create table bench.indexes (name text primary key, table_name text not null);

create table bench.results (
  query text not null,
  config text not null,     -- 'all', 'none', 'generic' (all indexes), 'table scan' (index scans off) or an index name (that index alone)
  rep integer not null,
  plan jsonb not null,
  primary key (query, config, rep));

-- The arguments of a query with {name} replaced by bench.v's value, quoted.
create function bench.args(args text) returns text language plpgsql as $$
declare
  v_out text := args;
  v_name text;
begin
  for v_name in select distinct m[1] from regexp_matches(args, '\{([a-z_]+)\}', 'g') m loop
    v_out := replace(v_out, '{' || v_name || '}',
      quote_literal((select v.value from bench.v v where v.name = v_name)));
  end loop;
  return v_out;
end
$$;

-- One EXPLAIN ANALYZE of the prepared statement bench_q, rolled back.
create function bench.explain_once(statement text) returns jsonb language plpgsql as $$
declare
  v_plan json;
begin
  begin
    execute statement into v_plan;
    raise exception using errcode = 'BX001', message = 'roll back';
  exception when sqlstate 'BX001' then
    null;
  end;
  return v_plan::jsonb;
end
$$;

-- Runs query q with the indexes in drop_list dropped; reps + 1 runs, the first
-- not kept.
create function bench.measure(q bench.queries, config text, drop_list text[], generic boolean, reps integer,
  table_scan boolean default false)
returns void language plpgsql as $$
declare
  v_plans jsonb[] := '{}';
  v_index text;
  v_statement text := format('explain (analyze, buffers, format json) execute bench_q%s',
    case when q.args = '' then '' else '(' || bench.args(q.args) || ')' end);
begin
  begin
    foreach v_index in array drop_list loop
      execute format('drop index app.%I', v_index);
    end loop;
    perform set_config('plan_cache_mode', case when generic then 'force_generic_plan' else 'force_custom_plan' end, true);
    if table_scan then
      perform set_config('enable_indexscan', 'off', true);
      perform set_config('enable_indexonlyscan', 'off', true);
      perform set_config('enable_bitmapscan', 'off', true);
    end if;
    execute format('prepare bench_q%s as %s', case when q.types = '' then '' else '(' || q.types || ')' end, q.query);
    for r in 0..reps loop
      v_plans := v_plans || bench.explain_once(v_statement);
    end loop;
    deallocate bench_q;
    raise exception using errcode = 'BX001', message = 'roll back';
  exception when sqlstate 'BX001' then
    null;
  end;
  insert into bench.results (query, config, rep, plan)
  select q.name, measure.config, i - 1, v_plans[i] from generate_subscripts(v_plans, 1) i where i > 1;
end
$$;

-- The tables a plan reads or writes.
create function bench.relations(plan jsonb) returns text[] language sql immutable as $$
  select coalesce(array_agg(distinct n #>> '{}'), '{}') from jsonb_path_query(plan, 'strict $.**."Relation Name"') n
$$;

-- Rows read: over every scan node, (rows returned + rows removed by a filter or
-- a recheck) x loops. A Bitmap Index Scan is left out: its Bitmap Heap Scan counts the rows.
create function bench.rows_read(plan jsonb) returns bigint language sql immutable as $$
  select coalesce(sum(((n ->> 'Actual Rows')::numeric
                       + coalesce((n ->> 'Rows Removed by Filter')::numeric, 0)
                       + coalesce((n ->> 'Rows Removed by Index Recheck')::numeric, 0))
                      * (n ->> 'Actual Loops')::numeric), 0)::bigint
  from jsonb_path_query(plan, 'strict $.** ? (exists (@."Node Type"))') n
  where n ->> 'Node Type' in ('Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan', 'Tid Scan')
$$;

-- The scan nodes of a plan, in plan order: "Index Scan using x", "Seq Scan on t".
create function bench.scans(plan jsonb) returns text language sql immutable as $$
  select string_agg(s, ', ' order by o)
  from (select min(o) as o, s
        from (select o, n ->> 'Node Type' || case when n ? 'Index Name' then ' using ' || (n ->> 'Index Name')
                                                  else ' on ' || (n ->> 'Relation Name') end as s
              from jsonb_path_query(plan, 'strict $.** ? (exists (@."Node Type"))') with ordinality x (n, o)
              where n ->> 'Node Type' in ('Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Index Scan', 'Tid Scan')) y
        group by s) z
$$;

-- Every query, every configuration.
create function bench.study(reps integer) returns void language plpgsql as $$
declare
  q bench.queries;
  v_relevant text[];
  v_index text;
begin
  for q in select * from bench.queries order by ord loop
    perform bench.measure(q, 'all', '{}', false, reps);
    -- the indexes on the tables the statement touches (inlined functions included)
    select coalesce(array_agg(i.name order by i.name), '{}') into v_relevant
    from bench.indexes i
    where i.table_name = any (bench.relations((select r.plan from bench.results r
                                                where r.query = q.name and r.config = 'all' and r.rep = 1)));
    perform bench.measure(q, 'none', v_relevant, false, reps);
    if cardinality(v_relevant) > 1 then
      foreach v_index in array v_relevant loop
        perform bench.measure(q, v_index, array_remove(v_relevant, v_index), false, reps);
      end loop;
    end if;
    if q.types <> '' then
      perform bench.measure(q, 'generic', '{}', true, reps);
    end if;
    -- The seat queries also with no index at all (not even the primary key):
    -- the documents' "no index" case.
    if q.name in ('free seats', 'dates with availability') then
      perform bench.measure(q, 'table scan', v_relevant, false, reps, true);
    end if;
  end loop;
end
$$;

-- One row per query and configuration: medians over the reps.
create view bench.summary as
select q.ord, r.query, r.config,
       percentile_cont(0.5) within group (order by (r.plan -> 0 ->> 'Execution Time')::float8)::numeric as exec_ms,
       percentile_cont(0.5) within group (order by (r.plan -> 0 ->> 'Planning Time')::float8)::numeric as plan_ms,
       max(bench.rows_read(r.plan)) as rows_read,
       max(coalesce((r.plan -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint, 0)
           + coalesce((r.plan -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint, 0)) as buffers,
       (array_agg(bench.scans(r.plan) order by r.rep))[1] as scans
from bench.results r
join bench.queries q on q.name = r.query
group by q.ord, r.query, r.config;
