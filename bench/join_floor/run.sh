#!/usr/bin/env bash
# Benchmark: the on-sale's floor on this machine. `scripts/bench onsale`
# (10 000 people after 50 seats, 1 000 connections, the load generator on
# the same machine) run on two copies of one commit, one after the other,
# PAIRS times, the order swapped every other pair:
#
#   real   the commit as it is;
#   floor  the same, with app.queue_join replaced by bench/join_floor/floor.sql:
#          a join that only inserts its ticket and does its share of the
#          line's counting (no checks, no exact position).
#
# The gap between the two is what the rest of the real join (its checks and,
# mostly, its exact position) costs the on-sale. With PARTS="onsale queue",
# each run also has `scripts/bench`'s queue part (32 users joining one
# concert and polling, 8 s), for the HTTP joins a second.
#
# Usage: bench/join_floor/run.sh [REV]   (REV default HEAD; about 2 minutes a pair)
# Environment: BOXOFFICE_BIN  the release binary (default: build the working tree's)
#              PAIRS          pairs of runs (default 2)
#              PARTS          scripts/bench parts of each run: onsale, or onsale queue
#                             (default onsale)
# Writes bench/join_floor/results/<stamp>.md, one row per run, and keeps
# each run's own report (scripts/bench's <stamp>.md) in results/<stamp>/.
# floor.sql is the working tree's (its hash is in the report), REV's
# procedures everything else.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rev=${1:-HEAD}
pairs=${PAIRS:-2}
parts=${PARTS:-onsale}
case " $parts " in
  " onsale " | " onsale queue " | " queue onsale ") ;;
  *) echo "PARTS must be onsale, or onsale queue (the report's columns are theirs)" >&2; exit 2 ;;
esac

source scripts/lib/bench.sh
bench_binary join-floor
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d "$TMPDIR/boxoffice-join-floor.XXXXXX")
cleanup() {
  git -C "$root" worktree remove --force "$work/real" 2>/dev/null || true
  git -C "$root" worktree remove --force "$work/floor" 2>/dev/null || true
  rm -rf "$work"
  git -C "$root" worktree prune
}
trap cleanup EXIT
trap 'exit 130' INT TERM

commit=$(git rev-parse --short "$rev")
git worktree add -q --detach "$work/real" "$rev"
git worktree add -q --detach "$work/floor" "$rev"
# last of the procedures, so its app.queue_join is the one that stays
cp bench/join_floor/floor.sql "$work/floor/sql/procedures/99_join_floor.sql"

out=bench/join_floor/results
mkdir -p "$out/$stamp"
report=$out/$stamp.md
{
  echo "# The on-sale's floor, $stamp"
  echo
  echo "REV $commit; this script and floor.sql from $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- bench/join_floor || echo ' with uncommitted changes'), floor.sql md5 $(md5sum bench/join_floor/floor.sql | cut -c1-12)."
  echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at the start."
  echo "Command: \`PARTS=\"$parts\" PAIRS=$pairs bench/join_floor/run.sh $rev\`, each run \`scripts/bench $parts\` with one release binary."
  echo
  echo "The on-sale: 10 000 people, 50 seats, 1 000 connections; the CPU columns are the on-sale run's. HTTP joins and polls a second: the queue part (32 users, 8 s), when run."
  echo "Each run's own report: $out/$stamp/<pair>-<tree>.md."
  echo
  echo "| pair | tree | all joined s | first admission s | sold out s | on-sale requests | PostgreSQL CPU s | server CPU s | load generator CPU s | PostgreSQL ms per request | HTTP joins/s | HTTP polls/s | checks |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$report"

for pair in $(seq 1 "$pairs"); do
  order="real floor"
  ((pair % 2 == 0)) && order="floor real"
  for tree in $order; do
    echo "== pair $pair: $tree"
    log=$work/$tree-$pair.log
    # shellcheck disable=SC2086 # PARTS is a list of parts
    (cd "$work/$tree" && BOXOFFICE_BIN=$bin scripts/bench $parts >"$log" 2>&1) \
      || { tail -20 "$log"; echo "scripts/bench $parts failed ($tree, pair $pair)"; exit 1; }
    md=$(ls -t "$work/$tree"/bench/results/*.md | head -1)
    cp "$md" "$out/$stamp/$pair-$tree.md"
    counter() { { grep -o "$1 [0-9.]*" "$md" || true; } | head -1 | awk '{print $NF}'; }
    # | onsale | requests | machine busy | server | PostgreSQL | load generator | else | server ms | PG ms |
    cpu=$({ grep '^| onsale |' "$md" || true; } | head -1)
    field() { echo "$cpu" | awk -F'|' -v n="$1" '{gsub(/ /, "", $n); print $n}'; }
    checks=$({ grep -o 'checks: .*' "$md" || true; } | head -1 | sed 's/^checks: //')
    # | function | route | HTTP req/s | ...
    rate() { { grep "^| api\.[a-z_]* | \`$1\` |" "$md" || true; } | head -1 | awk -F'|' '{gsub(/ /, "", $4); print $4}'; }
    echo "| $pair | $tree | $(counter 'seconds until all joined') | $(counter 'seconds until first admission') | $(counter 'seconds until sold out') | $(field 3) | $(field 6) | $(field 5) | $(field 7) | $(field 10) | $(rate 'POST /api/queue/tokens') | $(rate 'GET /api/queue/tokens/me') | $checks |" >>"$report"
    tail -1 "$report"
  done
done

echo "Report: $report"
