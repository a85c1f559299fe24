#!/usr/bin/env bash
# Webhooks' figures (BENCHMARKS.md, "Webhooks"): what delivery costs the
# payments scenario, and how fast a backlog drains to a local receiver.
#
# One throwaway cluster, one seed, the receiver of the tests
# (scripts/webhooks/receiver.py, verifying every signature), then rounds of
# `boxoffice bench payments` against a server with webhooks off and one with
# them on, alternated (off, on, off, on) so that the machine's noise falls on
# both; each round on concerts of its own. The events an "off" round leaves
# PENDING are then drained by a server with webhooks on and no load: events
# delivered per second. Prints a Markdown table.
#
# Usage: bench/webhooks/run.sh [BINARY]   (default: .build/release/boxoffice)
# Environment: PAY_COUNT payments per round (default 2000), BENCH_USERS (default 32).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-.build/release/boxoffice}
count=${PAY_COUNT:-2000}
users=${BENCH_USERS:-32}
source scripts/lib/install.sh
source scripts/lib/cluster.sh
need_server
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  cluster_stop
  rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (shared with other work)" >&2
cluster_start
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "create database bench"
admin_url="host=$PGHOST port=$PGPORT user=postgres dbname=bench"
api_url="host=$PGHOST port=$PGPORT user=boxoffice_api dbname=bench"
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d bench "$@"; }
DATABASE_URL=$admin_url "$bin" migrate >/dev/null
DATABASE_URL=$admin_url "$bin" seed --scale 100000 >/dev/null 2>&1

secret="whsec_$(printf 'bench webhook key' | base64)"
receiver_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 scripts/webhooks/receiver.py --port "$receiver_port" --secret "$secret" --log "$work/receiver.jsonl" >"$work/receiver.out" 2>&1 &
pids+=($!)
sleep 1

server_pid=""
port=""
serve() {  # serve on|off
  local log=$work/serve-$1-$RANDOM.log hooks=()
  [ "$1" = on ] && hooks=(WEBHOOK_URL="http://127.0.0.1:$receiver_port/hooks" WEBHOOK_SECRET="$secret")
  # USER_KEYS=optional: the load generator joins by user id, without keys.
  env "${hooks[@]}" USER_KEYS=optional DATABASE_URL="$api_url" MIGRATE_DATABASE_URL="$admin_url" HTTP_PORT=0 QUEUE_ACTIVE_CAP=100000 \
    INSTANCE_NAME=bench "$bin" serve >"$log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 1 150); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -1)
    [ -n "$port" ] && return 0
    sleep 0.2
  done
  cat "$log" >&2; exit 1
}
stop() { kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

echo "| round | webhooks | payments/s | p50 ms | p99 ms | events delivered during the round |"
echo "|---|---|---|---|---|---|"
concerts=(1-3 4-6 7-9 10-12)
modes=(off on off on)
for i in 0 1 2 3; do
  mode=${modes[$i]}
  # Each "on" round starts with nothing PENDING, so it delivers only its own events.
  [ "$mode" = on ] && sql -c "update app.outbox set delivery_status = 'DELIVERED' where delivery_status = 'PENDING'"
  serve "$mode"
  before=$(sql -c "select count(*) from app.outbox where delivery_status = 'DELIVERED'")
  timeout --signal=INT 300 "$bin" bench payments --url "http://127.0.0.1:$port" --users "$users" --count "$count" \
    --concerts "${concerts[$i]}" --json "$work/pay-$i.json" >"$work/pay-$i.txt" 2>/dev/null
  after=$(sql -c "select count(*) from app.outbox where delivery_status = 'DELIVERED'")
  stop
  python3 - "$work/pay-$i.json" "$((i + 1))" "$mode" "$((after - before))" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
phase = next(p for p in report["phases"] if p["name"] == "payments")
route = next(r for r in phase["routes"] if r["route"] == "POST /api/payments")
print(f"| {sys.argv[2]} | {sys.argv[3]} | {route['perSecond']:.0f} | {route['p50']:.1f} | {route['p99']:.1f} | {sys.argv[4]} |")
PY
done

# The last "off" round's events (and the "on" round's after it are all done): drain them.
sql -c "update app.outbox set delivery_status = 'PENDING', attempts = 0, next_attempt_at = now(), delivered_at = null
        where event_id in (select event_id from app.outbox order by event_id desc limit 10000)"
pending=$(sql -c "select count(*) from app.outbox where delivery_status = 'PENDING'")
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system, in clock ticks
receiver_before=$(cpu "${pids[0]}")
started=$(date +%s.%N)
serve on
while [ "$(sql -c "select count(*) from app.outbox where delivery_status = 'PENDING'")" != 0 ]; do sleep 0.2; done
ended=$(date +%s.%N)
server_cpu=$(cpu "$server_pid")
receiver_cpu=$(($(cpu "${pids[0]}") - receiver_before))
stop
bad=$(python3 -c "import json,sys; print(sum(1 for l in open('$work/receiver.jsonl') if not json.loads(l)['valid']))")
echo
echo "drain: $pending events in $(echo "$ended - $started" | bc) s (server start included): $(echo "$pending / ($ended - $started)" | bc) events/s; signatures failing the receiver's check: $bad"
hz=$(getconf CLK_TCK)
echo "CPU during the drain: server $(echo "scale=1; $server_cpu / $hz" | bc) s, receiver $(echo "scale=1; $receiver_cpu / $hz" | bc) s"
