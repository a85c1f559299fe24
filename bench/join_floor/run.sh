#!/usr/bin/env bash
# Benchmark: the on-sale's floor on this machine. `scripts/bench onsale`
# (10 000 people after 50 seats, 1 000 connections, the load generator on
# the same machine) run on two copies of one commit, one after the other,
# PAIRS times:
#
#   real   the commit as it is;
#   floor  the same, with app.queue_join replaced by bench/join_floor/floor.sql:
#          a join that only inserts its ticket (no checks, no exact position).
#
# The floor's "all joined" is what no join that does more can beat here; the
# gap between the two is what the join's own work costs the on-sale.
#
# Usage: bench/join_floor/run.sh [REV]   (REV default HEAD; about 2 minutes a pair)
# Environment: BOXOFFICE_BIN  the release binary (default: build it)
#              PAIRS          pairs of runs (default 2)
#              PARTS          scripts/bench parts of each run (default onsale;
#                             "onsale queue" adds the HTTP joins a second)
# Writes bench/join_floor/results/<stamp>.md; the runs' own reports are
# quoted there (the copies are removed).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rev=${1:-HEAD}
pairs=${PAIRS:-2}
parts=${PARTS:-onsale}
export TMPDIR=${TMPDIR:-/tmp}

if [ -n "${BOXOFFICE_BIN:-}" ]; then
  bin=$(cd "$(dirname "$BOXOFFICE_BIN")" && pwd)/$(basename "$BOXOFFICE_BIN")
else
  echo "== build (release)"
  swift build -c release --product boxoffice >"$TMPDIR/boxoffice-join-floor-build.log" 2>&1 \
    || { grep -E "error:" "$TMPDIR/boxoffice-join-floor-build.log" | sort -u | head -30; echo "build failed"; exit 1; }
  bin=$root/.build/release/boxoffice
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d "$TMPDIR/boxoffice-join-floor.XXXXXX")
cleanup() {
  git -C "$root" worktree remove --force "$work/real" 2>/dev/null || true
  git -C "$root" worktree remove --force "$work/floor" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit=$(git rev-parse --short "$rev")
git worktree add -q --detach "$work/real" "$rev"
git worktree add -q --detach "$work/floor" "$rev"
# last of the procedures, so its app.queue_join is the one that stays
cp bench/join_floor/floor.sql "$work/floor/sql/procedures/99_join_floor.sql"

out=bench/join_floor/results
mkdir -p "$out"
report=$out/$stamp.md
{
  echo "# The on-sale's floor, $stamp"
  echo
  echo "Commit $commit. $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "Command: \`PARTS=\"$parts\" bench/join_floor/run.sh $rev\` (PAIRS=$pairs), each run \`scripts/bench $parts\` with one release binary."
  echo
  echo "The on-sale: 10 000 people, 50 seats, 1 000 connections; CPU is the on-sale run's. Joins and polls a second: the queue part (32 users, 8 s), when run."
  echo
  echo "| run | tree | all joined s | first admission s | sold out s | PostgreSQL CPU s | server CPU s | load generator CPU s | PostgreSQL ms per request | HTTP joins/s | HTTP polls/s | checks |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$report"

for pair in $(seq 1 "$pairs"); do
  for tree in real floor; do
    echo "== pair $pair: $tree"
    log=$work/$tree-$pair.log
    # shellcheck disable=SC2086 # PARTS is a list of parts
    (cd "$work/$tree" && BOXOFFICE_BIN=$bin scripts/bench $parts >"$log" 2>&1) \
      || { tail -20 "$log"; echo "scripts/bench $parts failed ($tree, pair $pair)"; exit 1; }
    md=$(ls -t "$work/$tree"/bench/results/*.md | head -1)
    counter() { grep -o "$1 [0-9.]*" "$md" | head -1 | awk '{print $NF}'; }
    # | onsale | requests | machine busy | server | PostgreSQL | load generator | else | server ms | PG ms |
    cpu=$(grep '^| onsale |' "$md" | head -1)
    field() { echo "$cpu" | awk -F'|' -v n="$1" '{gsub(/ /, "", $n); print $n}'; }
    checks=$(grep -o 'checks: .*' "$md" | head -1 | sed 's/^checks: //')
    rate() { grep "^| api\.[a-z_]* | \`$1\` |" "$md" | head -1 | awk -F'|' '{gsub(/ /, "", $4); print $4}'; }
    echo "| $pair | $tree | $(counter 'seconds until all joined') | $(counter 'seconds until first admission') | $(counter 'seconds until sold out') | $(field 6) | $(field 5) | $(field 7) | $(field 10) | $(rate 'POST /api/queue/tokens') | $(rate 'GET /api/queue/tokens/me') | $checks |" >>"$report"
    tail -1 "$report"
  done
done

echo "Report: $report"
