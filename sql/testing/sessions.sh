# Sourced by the concurrency checks (sql/tests/*/*.sh) that run outside
# pgTAP with several real sessions: recreates the scratch database $db with
# scripts/dev-sql (never point one at a real database), and gives q (psql on
# it, unaligned, quiet) and check (one TAP line), a temporary folder $tmp,
# $failed for the exit status, until_true (waits for a background
# session), and the helpers below (asleep, most_lock_waiters, fans). The
# caller sets db and is at the root of the repository.
scripts/dev-sql "$db" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
n=0 failed=0
check() {  # check WHAT HAVE WANT
  n=$((n + 1))
  if [[ "$2" == "$3" ]]; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "#   have: $2"; echo "#   want: $3"; failed=1; fi
}
# waits (up to 20 s) until the query answers t, for a session started in the
# background to reach its lock (or its step) on a loaded machine; answers t or f
until_true() { for _ in $(seq 200); do [ "$(q -c "$1")" = t ] && { echo t; return; }; sleep 0.1; done; echo f; }
# asleep NAME: t while the session started with application_name NAME (in any
# database) is still in its pg_sleep, holding what it took: a call that
# returns while it is proves it did not wait for that session
asleep() { q -c "select exists (select from pg_stat_activity where application_name = '$1' and wait_event = 'PgSleep')"; }
# most_lock_waiters PID: while the process PID runs, samples (every 50 ms)
# how many sessions of this database wait on a lock; prints the most seen at
# once, so that a stress run can show it met contention at all
most_lock_waiters() {
  local most=0 now
  while kill -0 "$1" 2>/dev/null; do
    now=$(q -c "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'")
    ((now > most)) && most=$now
    sleep 0.05
  done
  echo "$most"
}
# fans N TITLE: N fans of a new concert TITLE (one date, seats 1..50), each
# through the API: created, joined, admitted and charged 1 000 000, in
# public.fan (n, user_id, token); keys are optional for the rest of the check
fans() {
  q >/dev/null <<SQL
select api.setting_set('user_keys', 'optional');
select * from app.seed_concerts(array['$2'], array['Hall'], 1, now());
create table public.fan as
select u.n, (api.user_create('fan ' || u.n) ->> 'userId')::bigint as user_id
from generate_series(1, $1) u(n);
alter table public.fan add column token uuid;
update public.fan f set token = (select (j.body ->> 'token')::uuid
                                 from api.queue_join(f.user_id, (select concert_id from app.concerts where title = '$2')) j);
select api.queue_admit();
select api.balance_charge(f.token, 1000000) from public.fan f;
SQL
}
