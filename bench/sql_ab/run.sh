#!/usr/bin/env bash
# What a change of sql/procedures costs on the hot path: the procedures of a
# git revision (default HEAD) against the working tree's, by the CPU the
# database spends per call, which the load of a shared machine inflates far
# less than it does wall time.
#
# One throwaway cluster, one seeded database (1 000 000 seats, the pgbench
# bench schema of bench/pgbench/setup.sql), then each round two fresh copies
# of it, one with each version's procedures, and the same pgbench runs on
# both (-M prepared, as boxoffice_api, CLIENTS clients, TX transactions
# each), in the order A B, then B A. A run's CPU is what its backends used
# (reaped into the postmaster's cutime + cstime when they exit, autovacuum
# off), divided by the transactions run. Prints each run, then the medians.
# On 2 cores shared with other work, two runs of the same procedures differ
# by up to a third (reservation_get 70 against 92 us in an A/A run): compare
# medians of several rounds, and time one function in a loop (best of many)
# for differences of a few microseconds.
#
# Usage: bench/sql_ab/run.sh [REV]
#   ROUNDS (4), CLIENTS (4), TX (1000), SCRIPTS (seat_hold_distinct
#   balance_charge reservation_get payment_create; queue_status polls a line
#   of POLL_TOKENS, default 10 000; queue_join joins one line, a new user
#   each time), BOXOFFICE_BIN (the debug build) for migrate and seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
rev=${1:-HEAD}
rounds=${ROUNDS:-4}; clients=${CLIENTS:-4}; tx=${TX:-1000}; poll_tokens=${POLL_TOKENS:-10000}
scripts=${SCRIPTS:-seat_hold_distinct balance_charge reservation_get payment_create}
bin=${BOXOFFICE_BIN:-.build/debug/boxoffice}
[ -x "$bin" ] || { echo "no $bin: swift build first, or set BOXOFFICE_BIN" >&2; exit 1; }
source scripts/lib/cluster.sh
export TMPDIR=${TMPDIR:-/tmp}
work=$(mktemp -d "$TMPDIR/boxoffice-sql-ab.XXXXXX")
trap 'cluster_stop; rm -rf "$work"' EXIT
git archive "$rev" sql/procedures | tar -x -C "$work"

cluster_start
psql -q -X -d postgres -c "alter system set autovacuum = off" -c "select pg_reload_conf()" >/dev/null
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d base "$@"; }
psql -q -X -d postgres -c "create database base"
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=base" "$bin" migrate >/dev/null 2>&1
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=base" "$bin" seed --scale 1000000 >/dev/null 2>&1
sql -c "select * from app.seed_concerts(array['Join line', 'Poll line'], array['Hall J', 'Hall P'], 1, now())" >/dev/null
concert() { sql -c "select concert_id from app.concerts where title = '$1'"; }
join_concert=$(concert 'Join line')
# queue_join: a new user per join; each run starts from a fresh copy of base,
# so one run's worth of users is enough.
sql -v join_concert="$join_concert" -v poll_concert="$(concert 'Poll line')" -v list_first=101 -v list_last=110 \
  -v hold_first=126 -v hold_last=150 -v pay_first=161 -v pay_last=170 -v join_users=$((clients * tx)) -v poll_tokens="$poll_tokens" \
  -v pay_count=$((clients * tx > 6000 ? clients * tx : 6000)) -v clients=8 -f bench/pgbench/setup.sql >/dev/null
# seat_hold_distinct holds thousands of seats per token: holds lapse after a
# second, so that the per-token limit never stops a client (the payments'
# holds, made above, keep their hour).
sql -c "select api.setting_set('hold_seconds', '1')" -c "select api.setting_set('max_holds_per_token', '50')" -c "vacuum analyze" >/dev/null

copies() {
  local db
  for db in a b; do
    psql -q -X -d postgres -c "drop database if exists $db with (force)" -c "create database $db template base"
  done
  { echo 'set role boxoffice_owner;'; cat "$work"/sql/procedures/*.sql; } | psql -q -X -v ON_ERROR_STOP=1 -d a -1 >/dev/null 2>&1
  { echo 'set role boxoffice_owner;'; cat sql/procedures/*.sql; } | psql -q -X -v ON_ERROR_STOP=1 -d b -1 >/dev/null 2>&1
}
pm=$(head -1 "$CLUSTER_DIR/data/postmaster.pid")
hz=$(getconf CLK_TCK)
reaped() { awk '{print $16 + $17}' "/proc/$pm/stat"; }
run() { # db script
  local db=$1 script=$2 before after out done_tx
  local args=(-t "$tx")
  [ "$script" = payment_create ] && args+=(--max-tries 10 -D i=0 -D clients="$clients")
  [ "$script" = queue_status ] && args+=(-D poll_tokens="$poll_tokens")
  [ "$script" = queue_join ] && args+=(-D join_concert="$join_concert")
  before=$(reaped)
  out=$(PGUSER=boxoffice_api pgbench -n -M prepared -c "$clients" -j 2 "${args[@]}" -f "bench/pgbench/$script.sql" "$db" 2>&1) || true
  after=$(reaped)
  done_tx=$(echo "$out" | awk '/number of transactions actually processed/ {split($6, a, "/"); print a[1]}')
  if [ -z "$done_tx" ] || [ "$done_tx" = 0 ] || echo "$out" | grep -q aborted; then
    echo "$script $db failed: $(echo "$out" | grep -m1 -i error)" >&2; return
  fi
  awk -v s="$script" -v db="$db" -v t="$done_tx" -v d=$((after - before)) -v hz="$hz" \
    'BEGIN {printf "%s %s %.0f\n", s, db, d / hz * 1e6 / t}' | tee -a "$work/runs"
}
echo "a: $rev ($(git rev-parse --short "$rev")), b: the working tree; CPU us per transaction"
for r in $(seq 1 "$rounds"); do
  copies
  if ((r % 2)); then order="a b"; else order="b a"; fi
  for db in $order; do for s in $scripts; do run "$db" "$s"; done; done
done
echo "medians (runs):"
for s in $scripts; do
  for db in a b; do
    awk -v s="$s" -v db="$db" '$1 == s && $2 == db {print $3}' "$work/runs" | sort -n \
      | awk -v s="$s" -v db="$db" '{v[NR] = $1} END {if (NR) printf "  %-20s %s %6.0f (%d)\n", s, db, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, NR}'
  done
done
