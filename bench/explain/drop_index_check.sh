#!/usr/bin/env bash
# Checks that the EXPLAIN tests of sql/tests/explain fail without the index
# they are about: runs each test file with one index dropped right after its
# `begin;` (so inside the test's transaction, rolled back with it) and
# expects pg_prove to report failures. Prints one line per case and exits 1
# if a test file still passes without its index.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres bench/explain/drop_index_check.sh DBNAME
# (DBNAME made by scripts/dev-sql; nothing in it is changed.)
set -uo pipefail
db=${1:?database name}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
check() {
  local file=$1 drop=$2
  sed "0,/^begin;\$/s//begin;\n$drop/" "$root/sql/tests/explain/$file" > "$work/$file"
  local out failed
  out=$(pg_prove -d "$db" "$work/$file" 2>&1)
  failed=$(grep -o 'Failed tests: .*' <<<"$out" | head -1)
  if grep -q '^Result: PASS' <<<"$out"; then
    echo "STILL PASSES  $file  ($drop)"
    status=1
  else
    echo "fails         $file  ($drop)  ${failed:-$(grep -m1 -o 'ERROR: .*' <<<"$out")}"
  fi
}
check queue_queries.test.sql 'drop index app.queue_tickets_concert_id_queue_no_departed_idx;'
check queue_queries.test.sql 'drop index app.queue_tickets_concert_id_expires_at_idx;'
check queue_queries.test.sql 'drop index app.queue_tickets_last_seen_at_idx;'
check queue_queries.test.sql 'alter table app.queue_tickets drop constraint queue_tickets_concert_id_queue_no_key;'
check seat_queries.test.sql 'drop index app.seats_date_id_seat_no_idx;'
check seat_queries.test.sql 'drop index app.seats_hold_expires_at_idx;'
check seat_queries.test.sql 'alter table app.seats drop constraint seats_pkey cascade;'
exit $status
