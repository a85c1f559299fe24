#!/usr/bin/env bash
# Benchmark: libpq round trips per second through the server's pool
# (blocking calls, one NIOThreadPool thread per connection) against libpq's
# non-blocking API driven by one polling thread, both from `boxoffice bench
# pool` (a release build), with pgbench as the ceiling, in one run on a
# throwaway cluster (scripts/lib/cluster.sh), removed whatever happens.
#
# Two statements: `select 1`, and `select api.concert_list()` (a real api
# function, on the demo seed: 3 concerts). Each at 8 connections with 8, 32
# and 128 concurrent tasks, ROUNDS rounds of SECONDS each per way (after a 1 s
# warm-up, the ways alternating); then ROUNDS runs of
# `pgbench -n -M prepared -c 8 -j 2 -T SECONDS` of the same statement. All as
# the server's role, boxoffice_api, over the Unix socket.
#
# Usage: bench/pool/run.sh [SECONDS [ROUNDS]]   (default 5 and 5: about 8 minutes after the build)
# On a shared machine, `nice -n -10 bench/pool/run.sh` (as root) keeps other
# work from setting the pace: the cluster, the client and pgbench all inherit it.
# Environment: BOXOFFICE_BIN  use this binary instead of building release
# Writes bench/pool/results/<stamp>.md (the tables) and <stamp>-*.json (every round).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}
rounds=${2:-5}
connections=8
tasks=8,32,128

source scripts/lib/install.sh
source scripts/lib/cluster.sh
need_swift
need_server
need_debian postgresql-15-cron  # cluster.sh preloads pg_cron
export TMPDIR=${TMPDIR:-/tmp}

if [ -n "${BOXOFFICE_BIN:-}" ]; then
  bin=$BOXOFFICE_BIN
else
  echo "== build (release)"
  # Another SwiftPM in .build holds its lock: wait and try again (up to 10 minutes).
  for try in $(seq 1 20); do
    if swift build -c release --product boxoffice >"$TMPDIR/boxoffice-pool-build.log" 2>&1; then break; fi
    if ((try < 20)) && grep -q "database is locked" "$TMPDIR/boxoffice-pool-build.log"; then sleep 30; continue; fi
    grep -E "error:" "$TMPDIR/boxoffice-pool-build.log" | sort -u | head -30
    echo "build failed"; exit 1
  done
  bin=.build/release/boxoffice
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/pool/results
mkdir -p "$out"
work=$(mktemp -d "$TMPDIR/boxoffice-pool.XXXXXX")
cleanup() {
  cluster_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- Sources Package.swift || commit="$commit + uncommitted changes in Sources"
[ -z "${BOXOFFICE_BIN:-}" ] || commit="$commit; binary $BOXOFFICE_BIN"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), niceness $(nice)"
echo "== $machine; commit $commit; load $(cut -d' ' -f1-3 /proc/loadavg)"

cluster_start
psql -q -X -v ON_ERROR_STOP=1 -d postgres -c "create database bench"
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=bench" "$bin" migrate >/dev/null 2>&1
DATABASE_URL="host=$PGHOST port=$PGPORT user=postgres dbname=bench" "$bin" seed --demo >/dev/null
api_url="host=$PGHOST port=$PGPORT user=boxoffice_api dbname=bench"
echo "== PostgreSQL $(psql -X -At -d bench -c 'show server_version') on port $PGPORT"

# CPU seconds of this cluster so far: the postmaster, what its ended children
# used (cutime, cstime), and its live children.
pg_cpu() {
  local pm
  pm=$(head -1 "$CLUSTER_DIR/data/postmaster.pid")
  { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(ps -o pid= --ppid "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done
  } | awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.3f\n", s / hz}'
}

# pgbench_runs NAME SQL: ROUNDS pgbench runs; one line per run: tps, and CPU
# µs per transaction of pgbench and of PostgreSQL.
pgbench_runs() {
  local name=$1 sql=$2 before after
  echo "$sql;" >"$work/$name.sql"
  for r in $(seq "$rounds"); do
    before=$(pg_cpu)
    TIMEFORMAT='%U %S'
    { time timeout $((seconds + 30)) pgbench -n -M prepared -c "$connections" -j 2 -T "$seconds" -U boxoffice_api \
        -f "$work/$name.sql" bench >"$work/$name-$r.txt" 2>&1; } 2>"$work/$name-$r.time"
    after=$(pg_cpu)
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/$name-$r.txt")
    read -r user system <"$work/$name-$r.time"
    echo "$tps $user $system $before $after" | awk -v s="$seconds" \
      '{n = $1 * s; printf "%.0f %.1f %.1f\n", $1, ($2 + $3) / n * 1e6, ($5 - $4) / n * 1e6}'
  done | tee "$work/$name-pgbench.txt" | awk '{print "pgbench round " NR ": " $1 " tps"}' >&2
}

# swift_runs NAME SQL: `boxoffice bench pool`, both ways, every round.
swift_runs() {
  local name=$1 sql=$2
  timeout $((2 * 3 * rounds * (seconds + 3) + 60)) "$bin" bench pool --conninfo "$api_url" --sql "$sql" \
    --connections "$connections" --tasks "$tasks" --duration "$seconds" --rounds "$rounds" \
    --json "$out/$stamp-$name.json" | tee "$work/$name-swift.txt"
}

for statement in "select1|select 1" "concert_list|select api.concert_list()"; do
  name=${statement%%|*}
  sql=${statement#*|}
  echo "== $sql"
  swift_runs "$name" "$sql"
  pgbench_runs "$name" "$sql"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# The tables: medians of every way, their ratio, and each against pgbench.
python3 - "$out/$stamp" "$work" "$machine" "$commit" "$load_after" "$seconds" "$rounds" >"$out/$stamp.md" <<'PY'
import json, statistics, sys
prefix, work, machine, commit, load, seconds, rounds = sys.argv[1:]
print(f"# bench/pool/run.sh {seconds} {rounds}, {prefix.rsplit('/', 1)[1]}\n")
print(f"{machine}; commit {commit}; load average at the end {load}.\n")
print("| statement | tasks | thread per connection /s | non-blocking /s | non-blocking / thread | thread / pgbench | non-blocking / pgbench "
      "| client µs per trip, thread / non-blocking | server µs per trip, thread / non-blocking | client switches per trip, thread / non-blocking |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
ceilings = {}
for name, sql in [("select1", "select 1"), ("concert_list", "select api.concert_list()")]:
    report = json.load(open(f"{prefix}-{name}.json"))
    runs = [list(map(float, line.split())) for line in open(f"{work}/{name}-pgbench.txt")]
    tps, client, server = (statistics.median(r[i] for r in runs) for i in range(3))
    ceilings[sql] = (tps, client, server, [r[0] for r in runs])
    for level in report["levels"]:
        t, n = level["medians"]
        f = lambda key, d=1: f"{t[key]:.{d}f} / {n[key]:.{d}f}" if t.get(key) is not None else "-"
        print(f"| `{sql}` | {level['tasks']} | {t['perSecond']:.0f} | {n['perSecond']:.0f} | {level['ratio']:.2f} "
              f"| {t['perSecond'] / tps:.2f} | {n['perSecond'] / tps:.2f} | {f('clientMicros')} | {f('serverMicros')} "
              f"| {f('clientSwitches', 2)} |")
print("\n| statement | pgbench -M prepared -c 8 -j 2, median tps | runs | pgbench µs per trip | server µs per trip |")
print("|---|---:|---|---:|---:|")
for sql, (tps, client, server, each) in ceilings.items():
    print(f"| `{sql}` | {tps:.0f} | {' '.join(f'{x:.0f}' for x in each)} | {client:.1f} | {server:.1f} |")
PY
echo
cat "$out/$stamp.md"
echo
echo "wrote $out/$stamp.md, $out/$stamp-select1.json, $out/$stamp-concert_list.json"
