#!/usr/bin/env bash
# Upgrade check: a database with lines made by the functions before
# 0005_queue_sequence.sql (per-concert numbers under the queue row lock) is
# migrated the way boxoffice migrate does it (0005 and every later migration,
# then every procedure file with their after-scripts in one transaction); positions, joins and
# admission then carry on exactly, and the audit is clean.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/queue_join/upgrade.sh [DBNAME]  (default q_upgrade)
set -euo pipefail
db=${1:-q_upgrade}
cd "$(dirname "$0")/../../.."
added=$(git log --diff-filter=A --format=%H -- sql/migrations/0005_queue_sequence.sql | tail -1)
[ -n "$added" ] || { echo "1..0 # SKIP 0005 is not committed yet"; exit 0; }
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git archive "$added^" sql scripts/dev-sql | tar -x -C "$old"
(cd "$old" && scripts/dev-sql "$db" >/dev/null 2>&1)
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
n=0 failed=0
check() {
  n=$((n + 1))
  if [[ "$2" == "$3" ]]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   have: $2"; echo "#   want: $3"; failed=1; fi
}
echo "1..7"
# Before: 250 in line for concert 1, 30 for concert 2; the first 100 of each
# admitted; 150, 151 and 200 leave while waiting, 3 and 4 give up their slots.
q <<'SQL'
insert into app.concerts (title, venue) values ('up 1', 'Hall'), ('up 2', 'Hall');
insert into app.users (name) select 'u' || g from generate_series(1, 300) g;
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j where u.user_id <= 250 \g /dev/null
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 2) j where u.user_id <= 30 \g /dev/null
select api.queue_admit() \g /dev/null
select api.queue_leave(token) from app.queue_tickets where concert_id = 1 and user_id in (150, 151, 200, 3, 4) \g /dev/null
SQL
# Every migration the old tree lacks (0005 and those after it), in order,
# then every procedure file with their after-scripts in one transaction.
new_migrations=()
for f in sql/migrations/*.sql; do
  [ -e "$old/$f" ] || new_migrations+=("$f")
done
for f in "${new_migrations[@]}"; do
  { echo 'set role boxoffice_owner;'; cat "$f"; } | q -1 >/dev/null
done
{ echo 'set role boxoffice_owner;'; cat sql/procedures/*.sql
  for f in "${new_migrations[@]}"; do a="sql/migrations/after/$(basename "$f")"; if [ -e "$a" ]; then cat "$a"; fi; done
} | q -1 >/dev/null
for f in sql/indexes/*.sql; do { echo 'set role boxoffice_owner;'; cat "$f"; } | q >/dev/null 2>&1; done
# joins here name their user without a key (keys came with 0006)
q -c "select api.setting_set('user_keys', 'optional')" >/dev/null
check "the audit is clean after the upgrade" "$(q -c 'select count(*) from api.audit()')" 0
check "a waiting ticket keeps its place: user 201 is 98th (100 admitted, 3 left ahead)" \
  "$(q -c "select api.queue_status(token)->>'position' from app.queue_tickets where concert_id = 1 and user_id = 201")" 98
check "a new join goes to the back: 148th" "$(q -c "select (api.queue_join(260, 1)).body->>'position'")" 148
check "its number comes from the sequence, above every old one" \
  "$(q -c "select queue_no > (select max(queue_no) from app.queue_tickets where user_id <> 260) from app.queue_tickets where user_id = 260")" t
check "admission fills the two freed slots" "$(q -c 'select api.queue_admit()')" 2
check "in arrival order: users 101 and 102" \
  "$(q -c "select string_agg(user_id::text, ' ' order by user_id) from app.queue_tickets where concert_id = 1 and status = 'ACTIVE' and user_id > 100")" "101 102"
check "the audit is still clean, and the job calls the procedure" \
  "$(q -c 'select count(*) from api.audit()') $(q -c "select command from app.jobs where name = 'queue_admit'")" "0 call api.queue_admit_run()"
exit $failed
