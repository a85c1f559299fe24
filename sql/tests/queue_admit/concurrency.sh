#!/usr/bin/env bash
# Concurrency checks of api.queue_admit across sessions. They need committed
# data and several sessions, so they run outside pgTAP, in a scratch database
# that this script recreates (scripts/dev-sql): never point it at a real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/queue_admit/concurrency.sh [DBNAME]  (default q_conc)
# Prints TAP; exit status 1 when a check fails.
set -euo pipefail
db=${1:-q_conc}
cd "$(dirname "$0")/../../.."
scripts/dev-sql "$db" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
n=0 failed=0
check() {  # check WHAT HAVE WANT
  n=$((n + 1))
  if [[ "$2" == "$3" ]]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   have: $2"; echo "#   want: $3"; failed=1; fi
}
echo "1..7"

# One concert, 300 users in line (cap 100 by default).
q <<'SQL'
insert into app.concerts (title, venue) values ('concurrency', 'Hall');
insert into app.users (name) select 'conc ' || g from generate_series(1, 600) g;
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j where u.user_id <= 300 \g /dev/null
SQL

# 1. Two admitters at once: the first holds its transaction open for 2 s;
# the second starts meanwhile, waits on the queue row, then sees the cap full.
q -c 'begin' -c 'select api.queue_admit()' -c 'select pg_sleep(2)' -c 'commit' > "$tmp/a1" &
sleep 0.5
start=$(date +%s.%N)
second=$(q -c 'select api.queue_admit()')
waited=$(echo "$(date +%s.%N) - $start >= 1" | bc)
wait
check "first admitter admits the cap" "$(sed -n 1p "$tmp/a1")" 100
check "second admitter at the same time admits nobody" "$second" 0
check "second admitter waited for the first" "$waited" 1
check "exactly 100 ACTIVE" "$(q -c "select count(*) from app.queue_tickets where status = 'ACTIVE'")" 100

# 2. A poll holding the first WAITING ticket (queue_no 101) while a slot is
# free: the admitter waits for it instead of skipping to 102.
q -c "update app.queue_tickets set status = 'LEFT', ended_at = now() where queue_no = 1"
q -c 'begin' -c "select app.queue_status(token, now() + interval '31 seconds') from app.queue_tickets where queue_no = 101" \
  -c 'select pg_sleep(1.5)' -c 'commit' > /dev/null &
sleep 0.5
q -c 'select api.queue_admit()' > /dev/null
wait
check "a ticket locked by its user's poll is admitted in its turn, not skipped" \
  "$(q -c "select string_agg(queue_no || ':' || status, ' ' order by queue_no) from app.queue_tickets where queue_no in (101, 102)")" \
  "101:ACTIVE 102:WAITING"

# 3. Churn: 4 pgbench clients for 10 s mixing admissions, slots given up and
# new joins, and a checker that fails (division by zero) if it ever sees more
# than the cap ACTIVE.
cat > "$tmp/admit.sql" <<'SQL'
select api.queue_admit();
SQL
cat > "$tmp/churn.sql" <<'SQL'
\set u random(1, 600)
update app.queue_tickets set status = 'LEFT', ended_at = now()
where token = (select token from app.queue_tickets where status = 'ACTIVE' order by random() limit 1 for update skip locked);
select api.queue_join(:u, 1);
SQL
cat > "$tmp/check.sql" <<'SQL'
select 1 / (count(*) <= 100)::integer from app.queue_tickets where concert_id = 1 and status = 'ACTIVE' and expires_at > now();
SQL
if pgbench -n -d "$db" -c 4 -T 10 -f "$tmp/admit.sql@3" -f "$tmp/churn.sql@3" -f "$tmp/check.sql@2" > "$tmp/bench" 2>&1; then
  check "under churn no snapshot ever shows more than the cap ACTIVE (pgbench clients all finished)" ok ok
else
  check "under churn no snapshot ever shows more than the cap ACTIVE (pgbench clients all finished)" "$(tail -5 "$tmp/bench")" ok
fi
check "under churn nobody was admitted while an earlier ticket waited" \
  "$(q -c "select count(*) from app.queue_tickets a join app.queue_tickets w on w.concert_id = a.concert_id
           and w.status = 'WAITING' and w.queue_no < a.queue_no where a.activated_at is not null")" 0
echo "# $(grep -E 'number of transactions actually processed' "$tmp/bench")"
exit $failed
