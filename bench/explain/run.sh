#!/usr/bin/env bash
# The EXPLAIN study: every statement a route or job runs, under
# EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), at 100 000 and 1 000 000 seats, with
# no index of sql/indexes, with each of them alone, and with all of them.
#
# For each scale: recreate database PREFIX_<scale> with scripts/dev-sql, load
# the data (setup.sql), load the statements (queries.sql, copied from
# sql/procedures with PL/pgSQL variables as $n parameters) and the machinery
# (study.sql), run bench.study(REPS), and write
#   out/<scale>.md          the tables (report.sql)
#   out/<scale>.plans.json  the JSON plans with all indexes and with none
#   out/<scale>.auto_explain.txt  the plans of the real api calls (autoexplain.sql)
# Takes about 30 s at 100 000 seats and 3.5 minutes at 1 000 000 on 2 cores.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres bench/explain/run.sh [PREFIX [REPS [SCALES...]]]
#   defaults: PREFIX x, REPS 5, SCALES 100000 1000000. The databases are kept
#   for a look with psql (bench.summary, bench.results); drop them when done.
set -euo pipefail
prefix=${1:-x}
reps=${2:-5}
shift 2 2>/dev/null || shift $#
scales=("$@")
[ ${#scales[@]} -gt 0 ] || scales=(100000 1000000)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$here/out
mkdir -p "$out"

label() { case $1 in *000000) echo "$(( $1 / 1000000 ))m" ;; *000) echo "$(( $1 / 1000 ))k" ;; *) echo "$1" ;; esac; }

indexes=$(cd "$root/sql/indexes" && ls *.sql | sed 's/\.sql$//' | paste -sd, -)

for seats in "${scales[@]}"; do
  db=${prefix}_$(label "$seats")
  name=$(label "$seats")
  echo "== $seats seats in $db"
  start=$SECONDS
  "$root/scripts/dev-sql" "$db" >/dev/null
  psql -X -q -At -v ON_ERROR_STOP=1 -v seats="$seats" -d "$db" -f "$here/setup.sql"
  echo "   loaded in $(( SECONDS - start )) s"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/queries.sql" -f "$here/study.sql"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" <<SQL
insert into bench.indexes (name, table_name)
select ic.relname, c.relname
from pg_index i
join pg_class ic on ic.oid = i.indexrelid
join pg_class c on c.oid = i.indrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'app' and ic.relname = any ('{$indexes}'::text[]);
SQL
  start=$SECONDS
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "select bench.study($reps)" >/dev/null
  echo "   studied in $(( SECONDS - start )) s"
  psql -X -q -At -v ON_ERROR_STOP=1 -v seats="$seats" -d "$db" -f "$here/report.sql" > "$out/$name.md"
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "
    select jsonb_pretty(jsonb_object_agg(r.query, jsonb_build_object('all', r.plan, 'none', n.plan)))
    from bench.results r join bench.results n on n.query = r.query and n.config = 'none' and n.rep = 1
    where r.config = 'all' and r.rep = 1" > "$out/$name.plans.json"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$here/autoexplain.sql" 2>&1 >/dev/null \
    | python3 "$here/autoexplain.py" > "$out/$name.auto_explain.txt"
  echo "   wrote out/$name.md, out/$name.plans.json, out/$name.auto_explain.txt"
done
