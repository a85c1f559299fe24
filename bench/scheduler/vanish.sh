#!/usr/bin/env bash
# Takeover when the leader's host vanishes: the leader's packets stop
# without a FIN or RST, as on power loss or a network partition, so only
# PostgreSQL's side of the TCP connection can end its session and free the
# advisory lock.
#
# A throwaway cluster (scripts/lib/cluster.sh) listens on 127.0.0.1 and on a
# veth pair's address 10.213.0.1; the leader runs in a network namespace
# ("host") at 10.213.0.2 and connects over TCP; the follower runs beside the
# cluster over its Unix socket. Each of KILLS rounds: start the leader alone
# and wait until it runs jobs, start the follower and let it poll a random
# 3.0-3.9 s, then vanish the host: SIGSTOP the leader and take its link down
# (read the database clock just before). Measured, database clock: when the
# leader's backend for the lock is gone from pg_stat_activity (the server gave
# the session up), and when the follower's first run starts (takeover).
#
# Needs root (ip netns, veth). Bounded: 40 s a round at most.
# Usage: bench/scheduler/vanish.sh [KILLS]   BOXOFFICE_BIN as for run.sh
set -euo pipefail
kills=${1:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BOXOFFICE_BIN:-$root/.build/debug/boxoffice}
ns=bo-vanish-$$
work=$(mktemp -d)
chmod 755 "$work"
leader_pid= follower_pid=
die() { echo "vanish.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (ip netns)"
[ -x "$bin" ] || die "$bin is missing: swift build first"
source "$root/scripts/lib/cluster.sh"

cleanup() {
  for pid in $leader_pid $follower_pid; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  ip link del bo-h$$ 2>/dev/null || true
  cluster_stop
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip link add bo-h$$ type veth peer name bo-l$$
ip link set bo-l$$ netns "$ns"
ip addr add 10.213.0.1/24 dev bo-h$$
ip link set bo-h$$ up
ip netns exec "$ns" ip addr add 10.213.0.2/24 dev bo-l$$
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip link set bo-l$$ up

cluster_start
echo "listen_addresses = '127.0.0.1,10.213.0.1'" >>"$CLUSTER_DIR/data/postgresql.conf"
echo "host all all 10.213.0.0/24 trust" >>"$CLUSTER_DIR/data/pg_hba.conf"
as_pg "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/postgres.log" -w restart >/dev/null
db=vanish
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database $db"
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=$db" BOXOFFICE_SQL_DIR="$root/sql" "$bin" migrate >/dev/null

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
now() { q -c "select extract(epoch from clock_timestamp())"; }
wait_for() {
  local deadline=$(( $(date +%s) + $1 ))
  until [ "$(q -c "$2")" = t ]; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
# serve NAME HOST [ip netns exec ...]: starts an instance in the background, echoes its pid
serve() {
  local name=$1 host=$2; shift 2
  DATABASE_URL="host=$host port=$PGPORT dbname=$db user=boxoffice_api" \
    MIGRATE_DATABASE_URL="host=$host port=$PGPORT dbname=$db user=postgres" \
    HTTP_PORT=0 INSTANCE_NAME="$name" BOXOFFICE_SQL_DIR="$root/sql" LOG_LEVEL=notice \
    "$@" "$bin" serve >"$work/$name.log" 2>&1 &
  echo $!
}

printf '%-6s %-22s %-22s\n' round "lock freed (s)" "takeover (s)"
for round in $(seq "$kills"); do
  ip netns exec "$ns" ip link set bo-l$$ up
  leader_pid=$(serve "leader$round" 10.213.0.1 ip netns exec "$ns")
  wait_for 30 "select exists (select from app.job_runs where instance = 'leader$round')" \
    || { cat "$work/leader$round.log"; die "leader$round ran nothing"; }
  lock_pid=$(q -c "select pid from pg_stat_activity where application_name = 'boxoffice scheduler' and client_addr = '10.213.0.2'")
  [ -n "$lock_pid" ] || die "no leader session from 10.213.0.2"
  follower_pid=$(serve "follower$round" "$PGHOST")
  sleep "3.$(( RANDOM % 10 ))"
  t0=$(now)
  kill -STOP "$leader_pid"
  ip netns exec "$ns" ip link set bo-l$$ down
  wait_for 40 "select not exists (select from pg_stat_activity where pid = $lock_pid)" || die "the leader's session outlived 40 s"
  freed=$(now)
  wait_for 40 "select exists (select from app.job_runs where instance = 'follower$round')" || die "follower$round never took over"
  took=$(q -c "select min(extract(epoch from started_at)) from app.job_runs where instance = 'follower$round'")
  printf '%-6s %-22.3f %-22.3f\n' "$round" "$(echo "$freed - $t0" | bc -l)" "$(echo "$took - $t0" | bc -l)"
  kill -9 "$leader_pid" "$follower_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  leader_pid= follower_pid=
  # the next leader must win the lock: nobody else holds it now
  wait_for 20 "select not exists (select from pg_stat_activity where application_name = 'boxoffice scheduler')" || die "a scheduler session lingers"
done
