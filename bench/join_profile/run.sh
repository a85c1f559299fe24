#!/usr/bin/env bash
# Benchmark: where a join's PostgreSQL time goes. Joins into one concert (a
# new user each, api.queue_join through pgbench -M prepared, as
# boxoffice_api), on a throwaway cluster (scripts/lib/cluster.sh, autovacuum
# off), removed whatever happens:
#
# 1. CPU per join at 4 and 8 clients: the backends' CPU (reaped into the
#    postmaster's cutime + cstime when they exit) over the joins run.
# 2. The statements a join runs, nested ones included
#    (pg_stat_statements.track = all, 8 clients): calls per join and mean
#    time. Times are wall clock inside the backend, so on 2 cores shared by
#    8 backends they read about twice the CPU; compare them with each other.
# 3. When perf works here: a cpu-clock profile of the backends over the
#    same kind of run (8 clients), flat and with callers' share, for the
#    phases of a statement (executor start, planning, commit).
#
# Usage: bench/join_profile/run.sh   (about 2 minutes after the build)
# Environment: BOXOFFICE_BIN  use this binary instead of building release
#              JOINS          joins per client in each measured run (default 1000)
# Writes bench/join_profile/results/<stamp>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
joins=${JOINS:-1000}

source scripts/lib/bench.sh
bench_binary join-profile

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/join_profile/results
mkdir -p "$out"
work=$(mktemp -d "$TMPDIR/boxoffice-join-profile.XXXXXX")
cleanup() {
  cluster_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- sql || commit="$commit + uncommitted changes in sql"
report=$out/$stamp.md
{
  echo "# Where a join's time goes, $stamp"
  echo
  echo "Commit $commit. $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "Command: \`bench/join_profile/run.sh\` (JOINS=$joins per client)."
  echo
} >"$report"

echo "== cluster and seed"
cluster_start
psql -q -X -d postgres -c "alter system set autovacuum = off" -c "select pg_reload_conf()" >/dev/null
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d base "$@"; }
psql -q -X -d postgres -c "create database base"
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=base" "$bin" migrate >/dev/null 2>&1
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=base" "$bin" seed --scale 1000000 >/dev/null 2>&1
sql -c "create extension if not exists pg_stat_statements"
sql -c "select * from app.seed_concerts(array['Join line', 'Poll line'], array['Hall J', 'Hall P'], 1, now())" >/dev/null
concert() { sql -c "select concert_id from app.concerts where title = '$1'"; }
join_concert=$(concert 'Join line')
# enough users for every run below (the warm-ups, 4 and 8 clients, the
# statements' run and the profile's)
sql -v join_concert="$join_concert" -v poll_concert="$(concert 'Poll line')" -v list_first=101 -v list_last=110 \
  -v hold_first=126 -v hold_last=150 -v pay_first=161 -v pay_last=170 -v join_users=$((joins * 40 + 100000)) -v poll_tokens=100 \
  -v pay_count=6000 -v clients=8 -f bench/pgbench/setup.sql >/dev/null
sql -c "vacuum analyze" >/dev/null

pm=$(head -1 "$CLUSTER_DIR/data/postmaster.pid")
hz=$(getconf CLK_TCK)
reaped() { awk '{print $16 + $17}' "/proc/$pm/stat"; }
joins_run() { # clients [pgbench options...]
  local clients=$1
  shift
  PGUSER=boxoffice_api pgbench -n -M prepared -c "$clients" -j 2 -D join_concert="$join_concert" \
    "$@" -f bench/pgbench/queue_join.sql base 2>&1
}

echo "== CPU per join"
{
  echo "## CPU per join"
  echo
  echo "| clients | joins | joins/s | backend CPU per join |"
  echo "|---:|---:|---:|---:|"
} >>"$report"
for clients in 4 8 4 8; do
  joins_run "$clients" -t 200 >/dev/null
  before=$(reaped)
  result=$(joins_run "$clients" -t "$joins")
  after=$(reaped)
  done_tx=$(echo "$result" | awk '/number of transactions actually processed/ {split($6, a, "/"); print a[1]}')
  tps=$(echo "$result" | awk '/^tps/ {printf "%.0f", $3}')
  [ -n "$done_tx" ] && [ "$done_tx" != 0 ] || { echo "$result"; echo "joins failed"; exit 1; }
  awk -v c="$clients" -v t="$done_tx" -v tps="$tps" -v d=$((after - before)) -v hz="$hz" \
    'BEGIN {printf "| %d | %d | %d | %.0f us |\n", c, t, tps, d / hz * 1e6 / t}' | tee -a "$report"
done

echo "== the statements of a join"
psql -q -X -d postgres -c "alter system set pg_stat_statements.track = 'all'" -c "select pg_reload_conf()" >/dev/null
joins_run 8 -t 200 >/dev/null
sql -c "select pg_stat_statements_reset()" >/dev/null
joins_run 8 -t "$joins" >/dev/null
{
  echo
  echo "## The statements of a join (8 clients, nested statements included)"
  echo
  echo "Per join: calls, and wall time inside the backend (mean over all joins, in"
  echo "microseconds; a statement's time includes the statements it runs)."
  echo
  echo "| calls per join | us per join | statement |"
  echo "|---:|---:|---|"
  sql -F '|' -c "
    select round(calls::numeric / $((8 * joins)), 2), round((total_exec_time * 1000 / $((8 * joins)))::numeric, 1),
           replace(left(regexp_replace(query, '\s+', ' ', 'g'), 110), '|', '/')
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = 'base') and query not like '%pg_stat_statements%'
    order by total_exec_time desc limit 30" | awk -F'|' '{printf "| %s | %s | `%s` |\n", $1, $2, $3}'
  echo
  echo "Statements run per join: $(sql -c "select round(sum(calls)::numeric / $((8 * joins)), 1)
    from pg_stat_statements where dbid = (select oid from pg_database where datname = 'base')
    and not toplevel")."
} >>"$report"
psql -q -X -d postgres -c "alter system reset pg_stat_statements.track" -c "select pg_reload_conf()" >/dev/null

if perf stat -e cpu-clock true >/dev/null 2>&1; then
  echo "== profile"
  joins_run 8 -T 10 >"$work/pgbench.txt" &
  load=$!
  sleep 1
  perf record -F 1999 -g -a -o "$work/perf.data" -- sleep 8 >/dev/null 2>&1
  wait "$load"
  {
    echo
    echo "## Profile of the backends (perf, cpu-clock, 8 clients, 8 s)"
    echo
    echo "$(awk '/^tps/ {printf "%.0f joins a second while profiled.", $3}' "$work/pgbench.txt")"
    echo "Share of the backends' samples in each phase (callers' share, children included):"
    echo
    echo '```'
    perf report -i "$work/perf.data" --comm postgres --children --sort symbol --stdio -g none 2>/dev/null \
      | awk '$3 == "[.]" && $4 ~ /^(PostgresMain|SPI_execute_plan_with_paramlist|standard_ExecutorStart|ExecInitNode|standard_ExecutorRun|standard_ExecutorEnd|standard_planner|GetCachedPlan|CommitTransactionCommand|ExecInsertIndexTuples|stringToNode|LockAcquireExtended|index_getnext_tid|heap_hot_search_buffer)$/ {printf "%8s  %s\n", $1, $4}'
    echo '```'
    echo
    echo "The 25 hottest functions (self):"
    echo
    echo '```'
    perf report -i "$work/perf.data" --comm postgres --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
      | awk '!/^#/ && NF >= 4 {printf "%8s  %-22s %s\n", $1, $2, $4} ' | head -25
    echo '```'
  } >>"$report"
else
  echo "(perf does not work here: no profile)" | tee -a "$report"
fi

echo "wrote $report"
cat "$report"
