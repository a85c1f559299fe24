#!/usr/bin/env bash
# Failover under load with pg_auto_failover (Debian's postgresql-15-auto-failover):
# a monitor and two PostgreSQL nodes on this machine (loopback ports, as the
# postgres user), `boxoffice serve` on the multi-host URL that `pg_autoctl
# show uri` prints (target_session_attrs=read-write), buyers paying at load
# (bench/failover/load.py), then `pg_autoctl perform failover`, then a kill -9
# of the (new) primary's postmaster. Checks afterwards:
#   - every payment answered 201 (the client's record) is in the primary,
#   - `boxoffice audit` is clean,
#   - the server answers again without a restart,
#   - a scheduler leader runs queue_admit on the new primary,
# and reports how long the service answered 503 (or not at all). Exits 1,
# with a "CHECK FAILED:" line for each, when any check fails (or a step of
# the formation never reaches its state).
#
# usage: bench/failover/failover.sh [SECONDS_PER_PHASE] [WORKERS]   (defaults 20 and 16)
# Environment: BOXOFFICE_BIN (default .build/release/boxoffice, else .build/debug/boxoffice),
#              SYNC=off to run with synchronous_commit=local (the cost of synchronous replication),
#              KEEP=1 to leave the folder (logs) behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source scripts/lib/install.sh
source scripts/lib/cluster.sh
source bench/failover/checks.sh
need_server
need_debian postgresql-15-auto-failover
phase=${1:-20}
workers=${2:-16}
bin=${BOXOFFICE_BIN:-}
[ -n "$bin" ] || { [ -x .build/release/boxoffice ] && bin=.build/release/boxoffice || bin=.build/debug/boxoffice; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export TMPDIR=${TMPDIR:-/tmp}

work=$(mktemp -d /tmp/boxoffice-failover.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pm=$(free_port); p1=$(free_port); p2=$(free_port)
autoctl() { as_pg env XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/share" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \
  PATH="/usr/lib/postgresql/15/bin:$PATH" pg_autoctl "$@"; }
keepers=()
frozen=()
server_pid=""
load_pid=""
cleanup() {
  touch "$work/stop"
  [ -n "$load_pid" ] && { kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; }
  [ -n "$server_pid" ] && { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  for node in node1 node2 monitor; do
    [ -d "$work/$node" ] && autoctl stop --pgdata "$work/$node" --immediate >/dev/null 2>&1 || true
  done
  for pid in "${frozen[@]}"; do kill -CONT "$pid" 2>/dev/null || true; done
  for node in node1 node2 monitor; do
    [ -d "$work/$node" ] && autoctl stop --pgdata "$work/$node" --immediate >/dev/null 2>&1 || true
  done
  for pid in "${keepers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  for node in node1 node2 monitor; do
    [ -f "$work/$node/postmaster.pid" ] && as_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$work/$node" -m immediate stop >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then echo "left in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
say() { echo "$*"; }

say "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
say "== monitor on :$pm, nodes on :$p1 and :$p2"
autoctl create monitor --pgdata "$work/monitor" --pgport "$pm" --hostname 127.0.0.1 --auth trust --no-ssl --run \
  >"$work/monitor.log" 2>&1 &
keepers+=($!)
monitor_uri="postgres://autoctl_node@127.0.0.1:$pm/pg_auto_failover?sslmode=disable"
for _ in $(seq 1 120); do psql -X -q -d "$monitor_uri" -c "select 1" >/dev/null 2>&1 && break; sleep 0.5; done
node() {  # node NAME PORT
  autoctl create postgres --pgdata "$work/$1" --pgport "$2" --hostname 127.0.0.1 --name "$1" --dbname boxoffice \
    --auth trust --no-ssl --monitor "$monitor_uri" --run >"$work/$1.log" 2>&1 &
  keepers+=($!)
}
states() { autoctl show state --pgdata "$work/monitor" 2>/dev/null; }
wait_for() {  # wait_for SECONDS PATTERN: until `show state` matches
  local deadline=$(($(date +%s) + $1))
  while (($(date +%s) < deadline)); do states | grep -Eq "$2" && return 0; sleep 1; done
  states; return 1
}
node node1 "$p1"
wait_for 120 "node1 .*\| +single +\| +single" || { fail_check "node1 never became a single node"; finish_checks; }
node node2 "$p2"
wait_for 180 "node2 .*\| +secondary +\| +secondary" || { fail_check "node2 never became a secondary"; finish_checks; }
wait_for 60 "node1 .*\| +primary +\| +primary" || { fail_check "node1 never became the primary"; finish_checks; }
states
say "synchronous_standby_names on the primary: $(psql -X -A -t -h 127.0.0.1 -p "$p1" -U postgres -d boxoffice -c 'show synchronous_standby_names')"

uri=$(autoctl show uri --pgdata "$work/monitor" --formation default 2>/dev/null | grep -o 'postgres://[^ ]*' | tail -1)
say "pg_autoctl show uri --formation default: $uri"
[ -n "$uri" ] || { autoctl show uri --pgdata "$work/monitor"; fail_check "pg_autoctl show uri printed no URI"; finish_checks; }
owner_url=${uri/postgres:\/\/@/postgres:\/\/postgres@}
owner_url=${owner_url/postgres:\/\/127/postgres:\/\/postgres@127}
api_url=${owner_url/postgres@/boxoffice_api@}
# What synchronous replication costs a commit here: pgbench's TPC-B-like
# transaction (5 writes and a commit) on the primary, 8 clients, with the
# formation's synchronous_commit = on, then = local (no wait for the standby).
psql -X -q -d "$owner_url" -c "create database pgbench"
bench_url=${owner_url/\/boxoffice/\/pgbench}
/usr/lib/postgresql/15/bin/pgbench -q -i -s 8 "$bench_url" >/dev/null 2>&1
for mode in on local; do
  tps=$(PGOPTIONS="-c synchronous_commit=$mode" /usr/lib/postgresql/15/bin/pgbench -n -T 8 -c 8 -j 2 "$bench_url" 2>/dev/null \
    | awk '/^tps/ {printf "%.0f tps", $3} /latency average/ {printf " (latency %s ms) ", $4}')
  say "pgbench tpcb-like, 8 clients, synchronous_commit = $mode: $tps"
done
DATABASE_URL=$owner_url "$bin" migrate >/dev/null
DATABASE_URL=$owner_url "$bin" seed --scale 100000 >/dev/null 2>&1
if [ "${SYNC:-on}" = off ]; then
  psql -X -q -d "$owner_url" -c "alter role boxoffice_api set synchronous_commit = local"
  say "SYNC=off: boxoffice_api commits with synchronous_commit = local"
fi
concerts=$(psql -X -A -t -d "$owner_url" -c "select string_agg(concert_id::text, ',') from (select concert_id from app.concerts order by 1 limit 10) c")

env DATABASE_URL="$api_url" MIGRATE_DATABASE_URL="$owner_url" HTTP_PORT=0 INSTANCE_NAME=failover LOG_LEVEL=notice \
  USER_KEYS=optional QUEUE_ACTIVE_CAP=1000 DB_POOL_WAIT_MS=2000 "$bin" serve >"$work/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 150); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/serve.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.2
done
[ -n "$port" ] || { cat "$work/serve.log"; fail_check "the server did not start"; finish_checks; }
say "== server on :$port, $workers buyers on concerts $concerts"
t_start=$(date +%s.%N)
python3 bench/failover/load.py "http://127.0.0.1:$port" "$concerts" "$workers" "$work/requests.log" "$work/paid.log" "$work/stop" &
load_pid=$!

sleep "$phase"
t_failover=$(date +%s.%N)
say "== $(date -u +%T) pg_autoctl perform failover"
autoctl perform failover --pgdata "$work/monitor" --formation default >"$work/perform.log" 2>&1 || cat "$work/perform.log"
states
sleep "$phase"
primary=$(states | awk -F'|' '$6 ~ /primary/ && $7 ~ /primary/ {gsub(/ /, "", $1); print $1}')
[ -n "$primary" ] || { fail_check "no primary after pg_autoctl perform failover"; finish_checks; }
# kill -9 of the postmaster alone: the node's keeper restarts it in place
# (crash recovery, no failover). Then the machine "dies": its keeper frozen
# (SIGSTOP) and every postgres process of it killed, so the monitor has to
# promote the other node.
t_kill=$(date +%s.%N)
pid=$(head -1 "$work/$primary/postmaster.pid")
say "== $(date -u +%T) kill -9 of $primary's postmaster ($pid); its keeper restarts it"
kill -9 "$pid"
sleep "$phase"
states
descendants() { local c; for c in $(ps -o pid= --ppid "$1"); do echo "$c"; descendants "$c"; done; }
keeper=${keepers[1]}; [ "$primary" = node2 ] && keeper=${keepers[2]}
frozen=()
for p in $(descendants "$keeper"); do
  case $(ps -o comm= -p "$p" 2>/dev/null) in
    pg_autoctl) kill -STOP "$p" && frozen+=("$p") ;;
  esac
done
t_lost=$(date +%s.%N)
pid=$(head -1 "$work/$primary/postmaster.pid")
say "== $(date -u +%T) $primary lost: keeper frozen (${#frozen[@]} processes), postmaster $pid and its children killed"
kill -9 $(ps -o pid= --ppid "$pid") "$pid" 2>/dev/null || true
other=node1; [ "$primary" = node1 ] && other=node2
wait_for 120 "$other .*\| +(wait_primary|primary) +\| +(wait_primary|primary)" >/dev/null \
  || fail_check "the monitor did not promote $other within 120 s of the loss"
say "== $(date -u +%T) $other is the primary ($(printf '%.1f' "$(echo "$(date +%s.%N) - $t_lost" | bc)") s after the loss, by the monitor)"
sleep "$phase"
states
touch "$work/stop"
wait "$load_pid" || true
load_pid=""
t_end=$(date +%s.%N)

say "== checks"
paid=$(wc -l <"$work/paid.log")
ids=$(awk '{print $2}' "$work/paid.log" | sort -u | paste -sd, -)
missing=$(psql -X -A -t -d "$owner_url" -c "select count(*) from unnest('{${ids}}'::bigint[]) a(id) where not exists (select from app.payments p where p.payment_id = a.id)")
say "payments answered 201: $paid; of them missing from the new primary: $missing"
[ "$paid" -gt 0 ] || fail_check "no payment was answered 201: the drill checked nothing"
expect_count "payments answered 201 but missing from the new primary" 0 "$missing"
say "payments in the database: $(psql -X -A -t -d "$owner_url" -c 'select count(*) from app.payments')"
audit_check "audit" "$owner_url"
after=$(awk -v t="$t_end" '$1 > t - 5 && $2 ~ /^2/' "$work/requests.log" | wc -l)
alive=no; kill -0 "$server_pid" 2>/dev/null && alive=yes
ready=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$port/ready" || true)
say "2xx answers in the last 5 s of load: $after (the same server process, pid $server_pid, still running: $alive; /ready now: $ready)"
[ "$alive" = yes ] || fail_check "the server process $server_pid is gone"
[ "$after" -gt 0 ] || fail_check "the server did not serve again: no 2xx answer in the last 5 s of load"
[ "$ready" = 200 ] || fail_check "the server did not serve again: /ready answers $ready after the load"
python3 - "$work/requests.log" "$t_failover" "$t_kill" "$t_lost" "$t_end" "$t_start" "$work/paid.log" <<'PY'
import sys
path = sys.argv[1]
t_failover, t_kill, t_lost, t_end, t_start = map(float, sys.argv[2:7])
paid = [float(line.split()[0]) for line in open(sys.argv[7])]
steady = [t for t in paid if t_start + 5 <= t < t_failover]
print(f"before the failover: {len(steady) / max(t_failover - t_start - 5, 1):.1f} payments/s answered 201 (from 5 s after the start)")
rows = sorted((float(t), int(s)) for t, s, *_ in (line.split(" ", 2) for line in open(path)))
total = len(rows)
tally = {}
for _, s in rows:
    tally[s] = tally.get(s, 0) + 1
print("answers:", ", ".join(f"{k or 'no answer'}x{v}" for k, v in sorted(tally.items())), f"({total} requests)")
def window(start, stop):
    # Between the event and the next: the span from the first failed answer
    # to the first 2xx after the last failed one.
    bad = [t for t, s in rows if start <= t <= stop and (s == 0 or s >= 500)]
    if not bad:
        return "no 5xx or unanswered request"
    last_bad = max(bad)
    ok_after = [t for t, s in rows if t > last_bad and 200 <= s < 300]
    end = ok_after[0] if ok_after else last_bad
    codes = {}
    for t, s in rows:
        if start <= t <= last_bad and (s == 0 or s >= 500):
            codes[s] = codes.get(s, 0) + 1
    return (f"first failure {min(bad) - start:.1f} s after, last {last_bad - start:.1f} s after, "
            f"serving 2xx again {end - start:.1f} s after; failures: "
            + ", ".join(f"{k or 'no answer'}x{v}" for k, v in sorted(codes.items())))
print("perform failover:    ", window(t_failover, t_kill))
print("kill -9 postmaster:  ", window(t_kill, t_lost))
print("primary lost:        ", window(t_lost, t_end))
PY
leader=$(psql -X -A -t -d "$owner_url" -c "
  select r.instance || ' ran queue_admit ' || count(*) || ' times after the primary was lost, first ' || round(extract(epoch from min(r.started_at) - to_timestamp($t_lost))::numeric, 1) || ' s after it, last ' || round(extract(epoch from now() - max(r.started_at))::numeric, 1) || ' s ago'
  from app.job_runs r join app.jobs j using (job_id)
  where j.name = 'queue_admit' and r.status = 'succeeded' and r.started_at > to_timestamp($t_lost)
  group by r.instance")
say "scheduler: ${leader:-no queue_admit run after the primary was lost}"
[ -n "$leader" ] || fail_check "no scheduler ran queue_admit on the new primary after the primary was lost"
say "leader lock held on the primary: $(psql -X -A -t -d "$owner_url" -c "select count(*) from pg_locks where locktype = 'advisory' and classid = 1651472495 and objid = 1717987683 and granted")"
{ grep -E "warning|error" "$work/serve.log" || true; } | cut -c1-200 | sort | uniq -c | sort -rn | head -8
finish_checks
