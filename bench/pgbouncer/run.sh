#!/usr/bin/env bash
# PgBouncer (transaction mode) against direct connections, in one run on one
# cluster: `boxoffice bench calls` and `bench onsale` against one server whose
# HTTP pool connects directly, then against one whose pool goes through
# PgBouncer (DATABASE_SESSION_URL direct for the scheduler and the listener);
# then INSTANCES servers x DB_POOL_SIZE through PgBouncer at once, each driven
# by its own load generator, counting the backends PostgreSQL carries.
#
# Usage: bench/pgbouncer/run.sh [INSTANCES] [POOL]   (defaults 6 and 32)
# Environment: BOXOFFICE_BIN (default .build/release/boxoffice, built when missing),
#              PGBOUNCER_POOL (server sessions per database/user, default 20),
#              SECONDS_PER_PHASE (default 8), ONSALE_PEOPLE (default 3000).
# Prints the summary lines and writes bench/pgbouncer/results/<stamp>.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/install.sh
source scripts/lib/cluster.sh
source scripts/lib/pgbouncer.sh
need_swift
need_server
need_debian pgbouncer
export TMPDIR=${TMPDIR:-/tmp}
instances=${1:-6}
instance_pool=${2:-32}
bouncer_pool=${PGBOUNCER_POOL:-20}
phase=${SECONDS_PER_PHASE:-8}
people=${ONSALE_PEOPLE:-3000}
bin=${BOXOFFICE_BIN:-.build/release/boxoffice}
[ -x "$bin" ] || swift build -c release --product boxoffice >"$TMPDIR/boxoffice-pgbouncer-build.log" 2>&1
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
ulimit -n 65536 2>/dev/null || true

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/pgbouncer/results
out=bench/pgbouncer/results/$stamp.txt
work=$(mktemp -d "$TMPDIR/boxoffice-pgbouncer.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pgbouncer_stop
  cluster_stop
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "$*" | tee -a "$out"; }

say "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: other builds and tests run beside this)"
cluster_start
pgbouncer_start 127.0.0.1 "$PGPORT" "$bouncer_pool"
db=bench
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "create database $db"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" "$@"; }
admin_url="host=$PGHOST port=$PGPORT user=postgres dbname=$db"
direct_url="host=127.0.0.1 port=$PGPORT user=boxoffice_api dbname=$db"
pooled_url="host=127.0.0.1 port=$PGBOUNCER_PORT user=boxoffice_api dbname=$db"
DATABASE_URL=$admin_url "$bin" migrate >/dev/null
DATABASE_URL=$admin_url "$bin" seed --scale 600000 >/dev/null 2>&1
sql -c "select * from app.seed_concerts(array['On-sale direct', 'On-sale pgbouncer'], array['Hall D', 'Hall P'], 1, now())" >/dev/null
concert() { sql -c "select concert_id from app.concerts where title = '$1'"; }
user_range() {
  sql -c "with u as (insert into app.users (name) select '$1-' || g from generate_series(1, $2) g returning user_id)
          select min(user_id) || '-' || max(user_id) from u"
}
sql -c "vacuum analyze" >/dev/null
say "== PostgreSQL on 127.0.0.1:$PGPORT (max_connections $(sql -c 'show max_connections')), PgBouncer transaction mode on :$PGBOUNCER_PORT, default_pool_size $bouncer_pool"

port=""
serve() {  # serve NAME DATABASE_URL POOL [ENV...]
  local name=$1 url=$2 size=$3 log=$work/serve-$1.log
  shift 3
  # USER_KEYS=optional: the load generator joins by user id, without keys.
  env USER_KEYS=optional "$@" DATABASE_URL="$url" DATABASE_SESSION_URL="$direct_url" MIGRATE_DATABASE_URL="$admin_url" HTTP_PORT=0 \
    DB_POOL_SIZE="$size" INSTANCE_NAME="$name" LOG_LEVEL=warning "$bin" serve >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)
    [ -n "$port" ] && return 0
    sleep 0.2
  done
  cat "$log" >&2; echo "server $name did not start" >&2; exit 1
}
stop_all() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
summary() { grep -E "^all|seconds until|^ *(POST|GET|DELETE) " "$1" | sed 's/^/   /' | tee -a "$out" || true; }

for route in direct pgbouncer; do
  url=$direct_url; [ "$route" = pgbouncer ] && url=$pooled_url
  say "== one server, DB_POOL_SIZE 8, HTTP pool $route"
  serve "$route" "$url" 8 QUEUE_ACTIVE_CAP=100000
  say "-- calls, 32 users, $phase s per call"
  timeout 300 "$bin" bench calls --users 32 --duration "$phase" --concerts 101-110 --url "http://127.0.0.1:$port" >"$work/calls-$route.txt" 2>&1 || true
  summary "$work/calls-$route.txt"
  stop_all
  serve "$route-onsale" "$url" 8
  on=$(concert "On-sale $route"); users=$(user_range "onsale-$route" "$people")
  say "-- on-sale, $people people, $((people / 10)) connections, 50 seats, cap 100"
  timeout 300 "$bin" bench onsale --users $((people / 10)) --people "$people" --seats 50 --duration 120 --poll-ms 1000 \
    --concerts "$on" --user-ids "$users" --url "http://127.0.0.1:$port" >"$work/onsale-$route.txt" 2>&1 || true
  summary "$work/onsale-$route.txt"
  say "   payments $(sql -c "select count(*) from app.payments where concert_id = $on"), sold $(sql -c "select count(*) from app.seats where concert_id = $on and status = 'SOLD'"), audit: $(DATABASE_URL=$admin_url "$bin" audit 2>&1 | tail -1)"
  stop_all
done

say "== $instances servers x DB_POOL_SIZE $instance_pool through PgBouncer, one load generator each (calls, 32 users)"
ports=()
for i in $(seq 1 "$instances"); do serve "many-$i" "$pooled_url" "$instance_pool" QUEUE_ACTIVE_CAP=100000; ports+=("$port"); done
gens=()
for i in "${!ports[@]}"; do
  timeout 300 "$bin" bench calls --users 32 --duration "$phase" --concerts 101-110 --url "http://127.0.0.1:${ports[$i]}" >"$work/many-$i.txt" 2>&1 &
  gens+=($!)
done
sleep $((phase * 2))
backends=$(sql -c "select count(*) from pg_stat_activity where datname = '$db' and usename = 'boxoffice_api'")
clients=$(psql -X -A -t -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U postgres -d pgbouncer -c "show pools" | awk -F'|' -v db="$db" '$1 == db {a += $3 + $4} END {print a + 0}')
for g in "${gens[@]}"; do wait "$g" || true; done
say "   mid-run: $clients client connections at PgBouncer, $backends boxoffice_api backends in PostgreSQL"
for i in "${!ports[@]}"; do grep -E "^all" "$work/many-$i.txt" | sed "s/^/   server $((i + 1)): /" | tee -a "$out" || true; done
stop_all
say "== results in $out"
