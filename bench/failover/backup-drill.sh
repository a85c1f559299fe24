#!/usr/bin/env bash
# Backup and point-in-time recovery drill, with PostgreSQL's own tools
# (pg_basebackup and WAL archiving; docs/availability.md): a primary with
# archive_mode on, buyers paying at load (bench/failover/load.py), a base
# backup taken under that load, more selling, a recovery target time T, more
# selling still; then the backup restored into a fresh cluster up to T,
# `boxoffice serve` started on it, and checked:
#   - every payment acknowledged (201) before T is there,
#   - no payment acknowledged more than a second after T is (it really
#     stopped at T, not at the end of the WAL),
#   - `boxoffice audit` is clean, /ready answers 200, and a new purchase works.
# Exits 1, with a "CHECK FAILED:" line for each, when any check fails.
#
# usage: bench/failover/backup-drill.sh [SECONDS_PER_PHASE] [WORKERS]   (defaults 15 and 8)
# Environment: BOXOFFICE_BIN (default .build/release/boxoffice, else .build/debug/boxoffice), KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/install.sh
source scripts/lib/cluster.sh
source bench/failover/checks.sh
need_server
phase=${1:-15}
workers=${2:-8}
bin=${BOXOFFICE_BIN:-}
[ -n "$bin" ] || { [ -x .build/release/boxoffice ] && bin=.build/release/boxoffice || bin=.build/debug/boxoffice; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
export TMPDIR=${TMPDIR:-/tmp}
bindir=/usr/lib/postgresql/15/bin

work=$(mktemp -d /tmp/boxoffice-backup.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/archive"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1=$(free_port); p2=$(free_port)
server_pid=""
load_pid=""
cleanup() {
  touch "$work/stop"
  [ -n "$load_pid" ] && { kill "$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; }
  [ -n "$server_pid" ] && { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  for d in primary restored; do
    [ -f "$work/$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$work/$d" -m immediate -w stop >/dev/null 2>&1 || true
  done
  if [ -n "${KEEP:-}" ]; then echo "left in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
serve() {  # serve LOGNAME URL
  env DATABASE_URL="$2" HTTP_PORT=0 INSTANCE_NAME="$1" LOG_LEVEL=notice USER_KEYS=optional QUEUE_ACTIVE_CAP=1000 \
    "$bin" serve >"$work/$1.log" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 1 150); do
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/$1.log" | head -1)
    [ -n "$port" ] && return 0
    sleep 0.2
  done
  cat "$work/$1.log"; echo "CHECK FAILED: boxoffice serve ($1) did not start listening"; exit 1
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""; }

echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) (shared machine)"
as_pg "$bindir/initdb" -D "$work/primary" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions >/dev/null
cat >>"$work/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = '$work'
archive_mode = on
archive_command = 'test ! -f $work/archive/%f && cp %p $work/archive/%f'
archive_timeout = 60
CONF
as_pg "$bindir/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null
primary="host=127.0.0.1 port=$p1 user=postgres dbname=boxoffice"
psql -X -q -h 127.0.0.1 -p "$p1" -U postgres -d postgres -c "create database boxoffice"
DATABASE_URL=$primary "$bin" migrate >/dev/null
DATABASE_URL=$primary "$bin" seed --scale 100000 >/dev/null 2>&1
concerts=$(psql -X -A -t -d "$primary" -c "select string_agg(concert_id::text, ',') from (select concert_id from app.concerts order by 1 limit 10) c")
serve primary-serve "host=127.0.0.1 port=$p1 user=boxoffice_api dbname=boxoffice"
echo "== primary on :$p1 (archive_mode on), server on :$port, $workers buyers"
python3 bench/failover/load.py "http://127.0.0.1:$port" "$concerts" "$workers" "$work/requests.log" "$work/paid.log" "$work/stop" &
load_pid=$!
sleep "$phase"

echo "== $(date -u +%T) pg_basebackup under load"
started=$(date +%s.%N)
as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$work/base" -X stream -c fast
echo "base backup: $(printf '%.1f' "$(echo "$(date +%s.%N) - $started" | bc)") s, $(du -sh "$work/base" | cut -f1)"
sleep "$phase"
target=$(psql -X -A -t -d "$primary" -c "select now()")
target_epoch=$(psql -X -A -t -d "$primary" -c "select extract(epoch from '$target'::timestamptz)")
echo "== $(date -u +%T) recovery target: $target"
sleep "$phase"
touch "$work/stop"
wait "$load_pid" || true
load_pid=""
stop_server
psql -X -A -t -d "$primary" -c "select pg_switch_wal()" >/dev/null
wal=$(psql -X -A -t -d "$primary" -c "select pg_walfile_name(pg_current_wal_lsn() - 1)")
for _ in $(seq 1 60); do
  [ "$(psql -X -A -t -d "$primary" -c "select coalesce(last_archived_wal, '') >= '$wal' from pg_stat_archiver")" = t ] && break
  sleep 0.5
done
total=$(psql -X -A -t -d "$primary" -c "select count(*) from app.payments")
echo "primary: $total payments in all; archived WAL up to $(psql -X -A -t -d "$primary" -c 'select last_archived_wal from pg_stat_archiver')"
as_pg "$bindir/pg_ctl" -D "$work/primary" -m fast -w stop >/dev/null

echo "== restore into a fresh cluster, to $target"
as_pg cp -a "$work/base" "$work/restored"
cat >>"$work/restored/postgresql.conf" <<CONF
port = $p2
archive_mode = off
restore_command = 'cp $work/archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
CONF
as_pg touch "$work/restored/recovery.signal"
started=$(date +%s.%N)
as_pg "$bindir/pg_ctl" -D "$work/restored" -l "$work/restored.log" -w -t 300 start >/dev/null
restored="host=127.0.0.1 port=$p2 user=postgres dbname=boxoffice"
for _ in $(seq 1 300); do
  [ "$(psql -X -A -t -d "$restored" -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ] && break
  sleep 0.5
done
echo "recovered and promoted in $(printf '%.1f' "$(echo "$(date +%s.%N) - $started" | bc)") s: $(grep -E 'recovery stopping|last completed transaction' "$work/restored.log" | tail -1 | sed 's/.*LOG: *//')"

echo "== checks"
ids_before=$(awk -v t="$target_epoch" '$1 <= t {print $2}' "$work/paid.log" | sort -u | paste -sd, -)
ids_after=$(awk -v t="$target_epoch" '$1 > t + 1 {print $2}' "$work/paid.log" | sort -u | paste -sd, -)
count_ids() { tr ',' '\n' <<<"$1" | grep -c . || true; }
n_before=$(count_ids "$ids_before"); n_after=$(count_ids "$ids_after")
echo "payments acknowledged: $(wc -l <"$work/paid.log") in all, $n_before before T, $n_after more than 1 s after T"
[ "$n_before" -gt 0 ] || fail_check "no payment was acknowledged before T: nothing to look for in the restored database"
[ "$n_after" -gt 0 ] || fail_check "no payment was acknowledged more than 1 s after T: nothing shows that recovery stopped at T"
missing=$(psql -X -A -t -d "$restored" -c "select count(*) from unnest('{$ids_before}'::bigint[]) a(id) where not exists (select from app.payments p where p.payment_id = a.id)")
echo "of those before T, missing from the restored database: $missing"
expect_count "payments acknowledged before T but missing from the restored database" 0 "$missing"
present=$(psql -X -A -t -d "$restored" -c "select count(*) from unnest('{$ids_after}'::bigint[]) a(id) where exists (select from app.payments p where p.payment_id = a.id)")
echo "of those after T, present in it (must be 0): $present"
expect_count "payments acknowledged more than 1 s after T yet present in the restored database" 0 "$present"
echo "restored: $(psql -X -A -t -d "$restored" -c 'select count(*) from app.payments') payments, newest paid $(psql -X -A -t -d "$restored" -c "select max(paid_at) from app.payments") (T $target)"
audit_check "audit of the restored database" "$restored"
serve restored-serve "host=127.0.0.1 port=$p2 user=boxoffice_api dbname=boxoffice"
ready=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$port/ready" || true)
echo "server on the restored cluster: /ready $ready"
[ "$ready" = 200 ] || fail_check "the server on the restored cluster answers /ready with $ready"
rm -f "$work/stop"
python3 bench/failover/load.py "http://127.0.0.1:$port" "$concerts" 2 "$work/requests-restored.log" "$work/paid-restored.log" "$work/stop" &
load_pid=$!
sleep 10
touch "$work/stop"
wait "$load_pid" || true
load_pid=""
sold=$(wc -l <"$work/paid-restored.log")
echo "selling on the restored cluster: $sold payments answered 201 in 10 s"
[ "$sold" -gt 0 ] || fail_check "no purchase went through on the restored cluster in 10 s"
audit_check "audit after selling on the restored cluster" "$restored"
finish_checks
