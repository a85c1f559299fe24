#!/usr/bin/env bash
# Event streams on one instance: bench/streams/RESULTS.md. A throwaway
# cluster (it preloads pg_stat_statements), a migrated database with the
# extension, one `boxoffice serve` with SCHEDULER=off (the bench admits),
# then streams.py.
#   bench/streams/run.sh [BINARY] [streams.py options...]
# BOXOFFICE_SQL_DIR, when set, is the sql/ tree to migrate with (another
# tree's SQL under the same binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/install.sh
source scripts/lib/cluster.sh
binary=${1:-.build/release/boxoffice}; shift || true
export TMPDIR=${TMPDIR:-/tmp}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; cluster_stop' EXIT
cluster_start
psql -q -X -d postgres -c "create database bench_streams"
psql -q -X -d bench_streams -c "create extension pg_stat_statements"
owner="host=$PGHOST port=$PGPORT user=postgres dbname=bench_streams"
DATABASE_URL="$owner" "$binary" migrate >/dev/null
DATABASE_URL="${owner/user=postgres/user=boxoffice_api}" MIGRATE_DATABASE_URL="$owner" SCHEDULER=off \
  HTTP_PORT=0 LOG_LEVEL=error "$binary" serve >"$TMPDIR/bench-streams-serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$TMPDIR/bench-streams-serve.log" && break; sleep 0.2; done
port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$TMPDIR/bench-streams-serve.log" | head -1)
/usr/bin/python3 bench/streams/streams.py --dsn "$owner" --port "$port" --pid "$server" "$@"
