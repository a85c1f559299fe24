#!/usr/bin/env bash
# One admission of everyone in a line of N while the fans' polls write
# "still here" at the rate N open event streams make them (one write per
# stream per 30 s: N / 30 a second; run at N / 15, the rate of their reads,
# each writing, as after a quiet spell): how many the one admission run
# admits. SQL only, no server: a throwaway cluster, the tree's sql/ applied
# with scripts/dev-sql, pgbench polling random tickets as boxoffice_api.
#   bench/streams/polls.sh [N (5000)] [RUNS (3)]
# BOXOFFICE_SQL_DIR, when set, is the sql/ tree to apply (another tree's).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/cluster.sh
n=${1:-5000} runs=${2:-3}
sql=${BOXOFFICE_SQL_DIR:-$PWD/sql}
export TMPDIR=${TMPDIR:-/tmp}
tmp=$(mktemp -d)
trap 'cluster_stop; rm -rf "$tmp"' EXIT
cluster_start
# scripts/dev-sql applies the sql/ next to it: a copy beside that tree's sql/
mkdir -p "$tmp/tree/scripts" && cp scripts/dev-sql "$tmp/tree/scripts/" && ln -s "$sql" "$tmp/tree/sql"
"$tmp/tree/scripts/dev-sql" polls >/dev/null 2>&1
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d polls "$@"; }
q <<SQL
select api.setting_set('user_keys', 'optional') \g /dev/null
insert into app.concerts (title, venue) values ('polls', 'Bench');
insert into app.queues (concert_id) values (1);
insert into app.users (name) select 'fan ' || g from generate_series(1, $n) g;
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j \g /dev/null
create table public.line as select row_number() over (order by queue_no) as n, token from app.queue_tickets;
grant select on public.line to boxoffice_api;
SQL
cat > "$tmp/poll.sql" <<SQL
\set i random(1, $n)
select api.queue_status(token => (select token from public.line where n = :i));
SQL
for run in $(seq "$runs"); do
  # everyone back in line, last seen 40 s ago: every poll writes
  q <<'SQL'
update app.queue_tickets set status = 'WAITING', activated_at = null, expires_at = null, ended_at = null,
                             last_seen_at = now() - interval '40 seconds';
update app.queues set admitted_upto = 0, admit_rate = 0, rate_updated_at = null;
delete from app.queue_counted;
delete from app.queue_arrivals;
SQL
  pgbench -n -U boxoffice_api -d polls -c 4 -j 2 -R $((n / 15)) -T 6 -f "$tmp/poll.sql" > "$tmp/pgbench" 2>&1 &
  sleep 2
  started=$(date +%s.%N)
  admitted=$(q -c "select api.setting_set('queue_active_cap', '$n')" -c "select api.queue_admit()" | tail -1)
  took=$(echo "$(date +%s.%N) - $started" | bc)
  wait
  echo "run $run: one admission of $n admitted $admitted in ${took} s, $(grep -o 'tps = [0-9.]*' "$tmp/pgbench") polls/s, load $(cut -d' ' -f1 /proc/loadavg)"
done
