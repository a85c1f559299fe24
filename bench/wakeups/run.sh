#!/usr/bin/env bash
# Benchmark: what a request costs at the rate it comes in. On a virtual
# machine a thread that sleeps and is woken pays for it, so the CPU per
# request of any process depends on how many requests share a wake-up.
# Three measurements in one run, on a throwaway cluster
# (scripts/lib/cluster.sh), removed whatever happens:
#
# 1. pgbench's own client (C, libpq, -c 8 -j 1, `select 1`) as fast as it
#    goes and held to 8 000, 4 000 and 2 000 transactions a second (-R):
#    its CPU (/proc/PID/stat over 5 s of a 6 s run) and voluntary context
#    switches per transaction.
# 2. `GET /health` (no database) through `boxoffice serve` at 32, 4, 2 and 1
#    users (`boxoffice bench health`, 6 s): the server's and the load
#    generator's CPU per request.
# 3. `bench queue` (200 joins per user, then 8 s of polls, a fresh concert
#    each run) at the same numbers of users: the same.
#
# ROUNDS rounds of each (default 2). BENCHMARKS.md, "What a request costs
# on this machine", reads the result.
#
# Usage: bench/wakeups/run.sh   (about 3 minutes after the build)
# Environment: BOXOFFICE_BIN  use this binary instead of building release
#              ROUNDS         rounds of each measurement (default 2)
# Writes bench/wakeups/results/<stamp>.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-2}

source scripts/lib/bench.sh
bench_binary wakeups

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/wakeups/results
mkdir -p "$out"
work=$(mktemp -d "$TMPDIR/boxoffice-wakeups.XXXXXX")
server_pid=""
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  cluster_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- Sources Package.swift || commit="$commit + uncommitted changes in Sources"
[ -z "${BOXOFFICE_BIN:-}" ] || commit="$commit; binary $BOXOFFICE_BIN"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== $machine; commit $commit; load $(cut -d' ' -f1-3 /proc/loadavg)"

cluster_start
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "create database bench"
admin_url="host=$PGHOST port=$PGPORT user=postgres dbname=bench"
DATABASE_URL=$admin_url "$bin" migrate >/dev/null 2>&1
DATABASE_URL=$admin_url "$bin" seed --demo >/dev/null
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d bench "$@"; }
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$1/status"; }

echo "select 1;" >"$work/select1.sql"
: >"$work/pgbench.txt"
for round in $(seq "$rounds"); do
  for rate in max 8000 4000 2000; do
    limit=(); [ "$rate" = max ] || limit=(-R "$rate")
    PGUSER=boxoffice_api pgbench -n -M prepared -c 8 -j 1 -T 6 "${limit[@]}" -f "$work/select1.sql" bench \
      >"$work/pgbench-$rate.out" 2>&1 &
    pid=$!
    sleep 0.5
    t0=$(ticks $pid); s0=$(switches $pid)
    sleep 5
    t1=$(ticks $pid); s1=$(switches $pid)
    wait $pid || { cat "$work/pgbench-$rate.out"; echo "pgbench failed"; exit 1; }
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/pgbench-$rate.out")
    echo "$rate $tps $t0 $t1 $s0 $s1" | awk -v hz="$hz" \
      '{n = $2 * 5; printf "%s %.0f %.1f %.2f\n", $1, $2, ($4 - $3) / hz / n * 1e6, ($6 - $5) / n}' \
      | tee -a "$work/pgbench.txt"
  done
done

echo "== boxoffice serve"
log=$work/serve.log
env USER_KEYS=optional QUEUE_ACTIVE_CAP=100000 DATABASE_URL="host=$PGHOST port=$PGPORT user=boxoffice_api dbname=bench" \
  MIGRATE_DATABASE_URL="$admin_url" HTTP_PORT=0 LOG_LEVEL=notice INSTANCE_NAME=wakeups "$bin" serve >"$log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 150); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { cat "$log"; echo "the server did not start"; exit 1; }

# run SCENARIO USERS SECONDS [ARGS]: one line, the scenario's requests, each
# phase's rate, and the server's CPU per request.
run() {
  local scenario=$1 users=$2 seconds=$3 t0 t1
  shift 3
  t0=$(ticks $server_pid)
  TIMEFORMAT='%U %S'
  { time timeout 120 "$bin" bench "$scenario" --url "http://127.0.0.1:$port" --users "$users" --duration "$seconds" "$@" \
      >"$work/bench.txt" 2>&1; } 2>"$work/bench.time" || { cat "$work/bench.txt"; echo "bench $scenario failed"; exit 1; }
  t1=$(ticks $server_pid)
  requests=$(sed -n 's/^== .* \([0-9]*\) requests, .*/\1/p' "$work/bench.txt" | awk '{s += $1} END {print s}')
  rates=$(sed -n 's/^== .* requests, \([0-9]*\) req\/s.*/\1/p' "$work/bench.txt" | paste -sd/)
  read -r user system <"$work/bench.time"
  echo "$scenario $users $rates $requests $t0 $t1 $user $system" | awk -v hz="$hz" \
    '{printf "%s %s %s %.3f %.3f\n", $1, $2, $3, ($6 - $5) / hz / $4 * 1e3, ($7 + $8) / $4 * 1e3}' | tee -a "$work/server.txt"
}
: >"$work/server.txt"
n=0
for round in $(seq "$rounds"); do
  for users in 32 4 2 1; do
    run health "$users" 6
  done
  for users in 32 4 2 1; do
    n=$((n + 1))
    sql -c "select from app.seed_concerts(array['Wake-up line $n'], array['Hall W'], 1, now())"
    concert=$(sql -c "select concert_id from app.concerts where title = 'Wake-up line $n'")
    run queue "$users" 8 --concerts "$concert"
  done
done

{
  echo "# bench/wakeups/run.sh, $stamp"
  echo
  echo "$machine; commit $commit; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "pgbench's client, \`select 1\`, -c 8 -j 1, one line per run:"
  echo
  echo "| rate | tps | client µs per transaction | voluntary switches per transaction |"
  echo "|---|---:|---:|---:|"
  awk '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}' "$work/pgbench.txt"
  echo
  echo "\`boxoffice serve\`, one line per run (queue: joins/s, then polls/s):"
  echo
  echo "| scenario | users | req/s | server ms per request (setup included) | load generator ms per request (setup included) |"
  echo "|---|---:|---|---:|---:|"
  awk '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$work/server.txt"
} >"$out/$stamp.md"
echo "wrote $out/$stamp.md"
