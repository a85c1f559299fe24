#!/usr/bin/env bash
# Benchmark: a join's parts, timed in one session. Where run.sh compares the
# real join and the floor (floor.sql) in a whole on-sale, this times them,
# and the position of a join, in loops inside one backend on a throwaway
# cluster (scripts/lib/cluster.sh, autovacuum off): no HTTP, no other
# session, so a part's cost is not hidden by the load of the others.
#
# Each round, alternated: JOINS joins of new users into one concert with the
# real app.queue_join and with the floor's (each join committed on its own,
# as one request would), then CALLS calls each of app.ticket_json for the
# last ticket in line, and of the two counts it makes (app.queue_arrived,
# app.queue_departed, with the same arguments). Nothing admits, so the line
# grows by 2 x JOINS a round. Prints microseconds per call, and the medians.
#
# Usage: bench/join_floor/loops.sh   (about a minute after the build)
# Environment: BOXOFFICE_BIN  use this binary instead of building release
#              ROUNDS (5), JOINS (2000), CALLS (5000)
# Writes bench/join_floor/results/<stamp>-loops.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-5}
joins=${JOINS:-2000}
calls=${CALLS:-5000}

source scripts/lib/bench.sh
bench_binary join-loops

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/join_floor/results
mkdir -p "$out"
report=$out/$stamp-loops.md
trap cluster_stop EXIT
trap 'exit 130' INT TERM

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- sql bench/join_floor || commit="$commit + uncommitted changes"
cluster_start
psql -q -X -d postgres -c "alter system set autovacuum = off" -c "select pg_reload_conf()" >/dev/null
psql -q -X -d postgres -c "create database base"
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=base" "$bin" migrate >/dev/null 2>&1
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d base "$@"; }

# The floor's join beside the real one, as lab.floor_join (its parameters
# are qualified by its name).
sed -e 's/app\.queue_join(/lab.floor_join(/' -e 's/queue_join\./floor_join./g' bench/join_floor/floor.sql >"$CLUSTER_DIR/floor.sql"
sql <<SQL >/dev/null
create schema lab;
select * from app.seed_concerts(array['Loop line'], array['Hall L'], 1, now());
insert into app.users (name) select 'loop-' || g from generate_series(1, $(((rounds * 2 + 1) * joins + 10))) g;
create sequence lab.user_seq;
select setval('lab.user_seq', (select min(user_id) from app.users));
-- n joins of new users, each committed; microseconds per join
create procedure lab.joins(fn text, n integer, inout us bigint default null)
language plpgsql as \$\$
declare
  v_concert bigint := (select concert_id from app.concerts where title = 'Loop line');
  v_start timestamptz := clock_timestamp();
begin
  for i in 1..n loop
    execute format('select * from %s(\$1, \$2, now())', fn) using nextval('lab.user_seq'), v_concert;
    commit;
  end loop;
  us := round(extract(epoch from clock_timestamp() - v_start) * 1e6 / n);
end
\$\$;
-- n calls of the position and its two counts for the last ticket in line
create function lab.positions(n integer, out ticket_json bigint, out arrived bigint, out departed bigint)
language plpgsql as \$\$
declare
  v_ticket app.queue_tickets;
  v_queue app.queues;
  v_counted bigint;
  v_start timestamptz;
  v_count bigint;
  v_json jsonb;
begin
  select * into strict v_ticket from app.queue_tickets t where t.status = 'WAITING' order by t.queue_no desc limit 1;
  select * into strict v_queue from app.queues q where q.concert_id = v_ticket.concert_id;
  select coalesce(max(k.counted_below), 0) into v_counted from app.queue_counted k where k.concert_id = v_ticket.concert_id;
  v_start := clock_timestamp();
  for i in 1..n loop
    v_json := app.ticket_json(v_ticket);
  end loop;
  ticket_json := round(extract(epoch from clock_timestamp() - v_start) * 1e6 / n);
  v_start := clock_timestamp();
  for i in 1..n loop
    v_count := app.queue_arrived(v_ticket.concert_id, v_queue.admitted_upto, v_ticket.queue_no, v_counted);
  end loop;
  arrived := round(extract(epoch from clock_timestamp() - v_start) * 1e6 / n);
  v_start := clock_timestamp();
  for i in 1..n loop
    v_count := app.queue_departed(v_ticket.concert_id, v_queue.admitted_upto, v_ticket.queue_no);
  end loop;
  departed := round(extract(epoch from clock_timestamp() - v_start) * 1e6 / n);
end
\$\$;
SQL
sql -f "$CLUSTER_DIR/floor.sql" >/dev/null
# a line to start from, with a few departures in it (every 50th leaves)
sql -c "call lab.joins('app.queue_join', $joins)" >/dev/null
sql -c "select count(app.queue_leave(t.token, now())) from app.queue_tickets t where t.queue_no % 50 = 0 and t.status = 'WAITING'" >/dev/null

{
  echo "# A join's parts in one session, $stamp"
  echo
  echo "Commit $commit. $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "Command: \`bench/join_floor/loops.sh\` (ROUNDS=$rounds JOINS=$joins CALLS=$calls). Microseconds per call, one session."
  echo
  echo "| round | line before | real join | floor join | app.ticket_json (last ticket) | app.queue_arrived | app.queue_departed |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"
rows=$CLUSTER_DIR/rows.txt
: >"$rows"
for round in $(seq 1 "$rounds"); do
  line=$(sql -c "select count(*) from app.queue_tickets")
  if ((round % 2)); then
    real=$(sql -c "call lab.joins('app.queue_join', $joins)")
    floor=$(sql -c "call lab.joins('lab.floor_join', $joins)")
  else
    floor=$(sql -c "call lab.joins('lab.floor_join', $joins)")
    real=$(sql -c "call lab.joins('app.queue_join', $joins)")
  fi
  parts=$(sql -F ' ' -c "select * from lab.positions($calls)")
  echo "$real $floor $parts" >>"$rows"
  echo "| $round | $line | $real | $floor | ${parts// / | } |" | tee -a "$report"
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
{
  echo -n "| median | | "
  for col in 1 2 3 4 5; do
    echo -n "$(awk -v c=$col '{print $c}' "$rows" | median) | "
  done
  echo
} | tee -a "$report"
echo "Report: $report"
