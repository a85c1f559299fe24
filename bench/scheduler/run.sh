#!/usr/bin/env bash
# Figures of the scheduler: scheduling drift and takeover time.
#
# 1. Drift: one `boxoffice serve` instance with the built-in jobs running, plus
#    a job 'drift' scheduled '1 seconds' ('select 1'). After RUNS + 1 runs of
#    it, how late each start was against its schedule. An 'N seconds' job runs
#    on a fixed grid (due = first due + k * N while it keeps up), so run k is
#    late by started_k - (started_0 + k s), started_at being what app.job_runs
#    records (api.job_run_start's clock_timestamp(): after the pool handed out
#    a connection and one round trip). Run 0 is the anchor, so this is the
#    lateness beyond run 0's own (a few ms of recording overhead). Also the
#    scheduler's own figure, boxoffice_job_start_lateness from /metrics
#    (decision time minus due time, before recording): its mean and buckets.
# 2. Takeover: KILLS times, a follower is started, left to poll for the lock a
#    random 3.0-3.9 s, and the leader is killed with SIGKILL; the takeover time
#    is from the kill (database clock, read just before kill -9) to the first
#    run started by the follower (its started_at, same clock).
#
# Bounded: every wait has a deadline (drift: RUNS * 2 + 60 s; takeover: 30 s
# a kill); about 2 + KILLS / 6 minutes in all. Creates database sched_bench_<pid>
# from BOXOFFICE_TEMPLATE (default boxoffice_template; migrated with
# `boxoffice migrate` when the template is missing) and drops it at the end.
#
# Usage: PGHOST=... PGPORT=... PGUSER=postgres bench/scheduler/run.sh [RUNS [KILLS]]
#   BOXOFFICE_BIN  the binary (default .build/debug/boxoffice; build it first)
set -euo pipefail
runs=${1:-100}
kills=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BOXOFFICE_BIN:-$root/.build/debug/boxoffice}
template=${BOXOFFICE_TEMPLATE:-boxoffice_template}
export PGUSER=${PGUSER:-postgres}
server="host=${PGHOST:-/var/run/postgresql} port=${PGPORT:-5432}"
db=sched_bench_$$
work=$(mktemp -d)
declare -A pid_of=()

cleanup() {
  for name in "${!pid_of[@]}"; do kill -9 "${pid_of[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -X -q -d postgres -c "drop database if exists $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
now() { q -c "select extract(epoch from clock_timestamp())"; }
die() { echo "run.sh: $*" >&2; exit 1; }

[ -x "$bin" ] || die "$bin is missing: swift build (or swift build -c release and BOXOFFICE_BIN=.build/release/boxoffice)"
if [ "$(psql -X -At -d postgres -c "select count(*) from pg_database where datname = '$template'")" = 1 ]; then
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $db template $template"
else
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $db"
  DATABASE_URL="$server user=$PGUSER dbname=$db" BOXOFFICE_SQL_DIR="$root/sql" "$bin" migrate >/dev/null
fi

# start NAME: a `boxoffice serve` instance in the background; waits until it listens
start() {
  local name=$1 log=$work/$1.log
  DATABASE_URL="$server dbname=$db user=boxoffice_api" MIGRATE_DATABASE_URL="$server dbname=$db user=$PGUSER" \
    HTTP_PORT=0 INSTANCE_NAME="$name" BOXOFFICE_SQL_DIR="$root/sql" LOG_LEVEL=notice \
    "$bin" serve >"$log" 2>&1 &
  pid_of[$name]=$!
  for _ in $(seq 300); do
    grep -q "listening" "$log" && return 0
    sleep 0.1
  done
  cat "$log" >&2
  die "$name did not start within 30 s"
}
port_of() { grep -o 'http://127.0.0.1:[0-9]*' "$work/$1.log" | head -1 | sed 's/.*://'; }
stop() { kill -"${2:-TERM}" "${pid_of[$1]}"; wait "${pid_of[$1]}" 2>/dev/null || true; unset "pid_of[$1]"; }
# wait_for SECONDS SQL: polls until SQL returns t
wait_for() {
  local deadline=$(( $(date +%s) + $1 ))
  until [ "$(q -c "$2")" = t ]; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

echo "binary: $bin ($(basename "$(dirname "$bin")") build)"
echo "machine: $(nproc) cores, $(psql -X -At -d postgres -c 'show server_version') at $server"
echo

echo "== drift: $runs runs of a '1 seconds' job after the first"
start drift
q -c "select api.job_schedule('drift', '1 seconds', 'select 1')" >/dev/null
wait_for $(( runs * 2 + 60 )) "select count(*) >= $runs + 1 from app.job_runs r join app.jobs j using (job_id)
                               where j.name = 'drift' and r.finished_at is not null" || die "drift: too few runs in time"
metrics=$(curl -s "http://127.0.0.1:$(port_of drift)/metrics" || true)
stop drift
q -c "select api.job_alter(name => 'drift', active => false)" >/dev/null
q <<SQL
\pset format aligned
\pset tuples_only off
\pset footer off
with r as (
  select r.started_at, r.finished_at, row_number() over (order by r.started_at) - 1 as k
  from app.job_runs r join app.jobs j using (job_id)
  where j.name = 'drift'
  order by r.started_at
  limit $runs + 1
), l as (
  select k,
         extract(epoch from started_at - first_value(started_at) over (order by k) - make_interval(secs => k)) * 1000 as late_ms,
         extract(epoch from started_at - lag(started_at) over (order by k)) * 1000 as gap_ms,
         extract(epoch from finished_at - started_at) * 1000 as run_ms
  from r
)
select count(*) as runs,
       round(percentile_cont(0.5) within group (order by late_ms)::numeric, 1) as late_median_ms,
       round(percentile_cont(0.9) within group (order by late_ms)::numeric, 1) as late_p90_ms,
       round(max(late_ms)::numeric, 1) as late_max_ms,
       round(min(late_ms)::numeric, 1) as late_min_ms,
       round(percentile_cont(0.5) within group (order by gap_ms)::numeric, 1) as start_to_start_median_ms,
       round(max(gap_ms)::numeric, 1) as start_to_start_max_ms,
       round(percentile_cont(0.5) within group (order by run_ms)::numeric, 1) as run_median_ms
from l where k > 0;
SQL
echo
echo "the scheduler's own lateness (decision minus due), /metrics, job=\"drift\":"
count=$(grep -E '^boxoffice_job_start_lateness_count\{job="drift"\}' <<<"$metrics" | awk '{print $2}')
sum=$(grep -E '^boxoffice_job_start_lateness_sum\{job="drift"\}' <<<"$metrics" | awk '{print $2}')
if [ -n "$count" ] && [ -n "$sum" ]; then
  awk -v c="$count" -v s="$sum" 'BEGIN { printf "  %d runs, mean %.2f ms\n", c, s / c * 1000 }'
  grep -E '^boxoffice_job_start_lateness_bucket\{job="drift"' <<<"$metrics" | sed 's/^/  /'
else
  echo "  (not found in /metrics)"
fi
echo

echo "== takeover: $kills kills of the leader"
start t0
wait_for 30 "select exists (select from app.job_runs where instance = 't0')" || die "t0 never led"
leader=t0
times=()
for i in $(seq "$kills"); do
  start "t$i"
  sleep "3.$(( RANDOM % 10 ))"
  [ "$(q -c "select exists (select from app.job_runs where instance = 't$i')")" = f ] || die "t$i ran jobs while $leader led"
  killed=$(now)
  stop "$leader" KILL
  wait_for 30 "select exists (select from app.job_runs where instance = 't$i')" || die "t$i did not take over within 30 s"
  took=$(q -c "select round((extract(epoch from min(started_at)) - $killed)::numeric, 3) from app.job_runs where instance = 't$i'")
  abandoned=$(q -c "select count(*) from app.job_runs where instance = '$leader' and message like 'abandoned%'")
  echo "kill $i: $leader killed, t$i ran its first job $took s later ($abandoned run(s) of $leader marked abandoned)"
  times+=("$took")
  leader=t$i
done
stop "$leader"
printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "takeover over %d kills: median %.3f s, min %.3f s, max %.3f s\n", NR, m, v[1], v[NR] }'
