#!/usr/bin/env bash
# Concurrency check for api.balance_charge and api.payment_create, with real
# sessions (pgTAP runs in one transaction and cannot show this). scripts/test
# runs it after pg_prove, on a scratch database made by scripts/dev-sql; by hand:
#   PGHOST=... PGPORT=... PGUSER=postgres sql/tests/balance_charge/concurrent_charges.sh DBNAME
# It commits its own users, concert and tickets (named 'concurrency-*') and leaves them.
# Checks: 8 sessions x 50 charges of 1..8 at once add up to exactly their sum,
# the ledger's running balance holds (api.audit), the BALANCE_MAX ceiling is
# never passed by racing charges, and of 4 sessions paying one reservation at
# once (SERIALIZABLE, as the server does) exactly one pays; of two READ
# COMMITTED sessions paying two holds with one token at once (a DBA in psql),
# exactly one pays and the other is refused with CR302.
# Checks 2, 3 and 5 force their race and prove it before judging the outcome:
# every racing session is seen in pg_stat_activity waiting on a lock (held by
# a session of this script, or by the first payment) before that lock is let
# go, and each session's outcome is read by its SQLSTATE (VERBOSITY=sqlstate).
set -euo pipefail
db=${1:?database name}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
# waits (up to 20 s) until the query answers t, for a session started in the
# background to reach its lock (or its step) on a loaded machine; answers t or f
until_true() { for _ in $(seq 200); do [ "$(q -c "$1")" = t ] && { echo t; return; }; sleep 0.1; done; echo f; }
# ends the session named $1 (a lock holder: it rolls back, having changed nothing)
let_go() { q -c "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = '$1'" >/dev/null; }
# hold_row NAME SQL: a session NAME runs SQL (a SELECT ... FOR UPDATE) in an
# open transaction and sleeps in it; returns once it is seen asleep, its lock
# taken (holder is its pid; let_go NAME ends it).
hold_row() {
  psql -X -q -At -d "dbname=$db application_name=$1" -c "begin" -c "$2" -c "select pg_sleep(60)" >/dev/null 2>&1 &
  holder=$!
  if [ "$(until_true "select exists (select from pg_stat_activity where datname = current_database() and application_name = '$1' and wait_event = 'PgSleep')")" != t ]; then
    let_go "$1"; fail "$1 never took its row: $2"
  fi
}
echo "1..5"

read -r user concert date_id <<<"$(q -F ' ' <<'SQL'
with u as (insert into app.users (name) values ('concurrency-user') returning user_id),
     c as (insert into app.concerts (title, venue) values ('concurrency-concert', 'hall') returning concert_id),
     qq as (insert into app.queues (concert_id, admitted_upto) select concert_id, 999 from c),
     ql as (update app.queue_line set closed_below = greatest(closed_below, 1000) returning 1),
     d as (insert into app.concert_dates (concert_id, starts_at) select concert_id, now() + interval '30 days' from c
           returning date_id, concert_id)
select u.user_id, d.concert_id, d.date_id from u, d;
SQL
)"
q -c "insert into app.seats (date_id, seat_no, concert_id, price) select $date_id, n, $concert, 100 from generate_series(1, 50) n"

token() { # a fresh ACTIVE ticket of user $1, queue_no $2
  q -c "insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
        values ($concert, $2, $1, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token"
}

# 1. Racing charges: 8 sessions, 50 charges each, amounts 1..8 (session i charges i).
tok=$(token "$user" 1)
for i in 1 2 3 4 5 6 7 8; do
  ( for _ in $(seq 50); do echo "select api.balance_charge('$tok', $i);"; done | q >/dev/null ) &
done
wait
balance=$(q -c "select balance from app.users where user_id = $user")
[ "$balance" = $((50 * (1+2+3+4+5+6+7+8))) ] || fail "balance $balance, expected $((50 * 36))"
rows=$(q -c "select count(*) from app.ledger where user_id = $user")
[ "$rows" = 400 ] || fail "$rows ledger rows, expected 400"
broken=$(q -c "select count(*) from api.audit() where subject = 'user $user' or subject like 'ledger entry %'")
[ "$broken" = 0 ] || fail "audit: $(q -c 'select * from api.audit()')"
echo "ok 1 - 400 racing charges add up to $balance, ledger consistent"

# 2. Racing charges against the ceiling, the race forced: balance_max =
# balance + 20, room for 4 charges of 5. A session holds the user's row (FOR
# UPDATE: a charge's UPDATE waits for it); 8 charges of 5 start, each in its
# own session, and all 8 must be seen waiting on a lock, none charged yet,
# before the row is let go. Then exactly 4 are charged, the balance ends
# exactly at the ceiling, and exactly 4 are refused with CR203. A charge that
# read the balance, checked the ceiling and then added would let all 8 pass.
ceiling=$((balance + 20))
q -c "select api.setting_set('balance_max', '$ceiling')" >/dev/null
out=$(mktemp -d)
hold_row ceiling_row_holder "select 1 from app.users where user_id = $user for update"
pids=()
for i in 1 2 3 4 5 6 7 8; do
  psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=ceiling_charge_$i" \
    -c "select api.balance_charge('$tok', 5)->>'balance'" >"$out/$i" 2>&1 &
  pids+=($!)
done
waiting=$(until_true "select count(*) = 8 from pg_stat_activity
                      where datname = current_database() and application_name like 'ceiling_charge_%' and wait_event_type = 'Lock'")
held=$(q -c "select balance from app.users where user_id = $user")
let_go ceiling_row_holder
wait "$holder" 2>/dev/null || true
for pid in "${pids[@]}"; do wait "$pid" || true; done
[ "$waiting" = t ] || fail "the 8 charges were not all seen waiting on a lock while the user's row was held: $(cat "$out"/*)"
[ "$held" = "$balance" ] || fail "balance $held while the row was held, expected $balance (a charge went through)"
outcomes=$(cat "$out"/* | sort | paste -sd'|')
want=$(printf '%s\n' $((ceiling - 15)) $((ceiling - 10)) $((ceiling - 5)) "$ceiling" \
         'ERROR:  CR203' 'ERROR:  CR203' 'ERROR:  CR203' 'ERROR:  CR203' | sort | paste -sd'|')
[ "$outcomes" = "$want" ] || fail "the 8 charges answered $outcomes, expected $want"
balance=$(q -c "select balance from app.users where user_id = $user")
[ "$balance" = "$ceiling" ] || fail "balance $balance, expected exactly the ceiling $ceiling"
rows=$(q -c "select count(*) from app.ledger where user_id = $user")
[ "$rows" = 404 ] || fail "$rows ledger rows, expected 404"
rm -r "$out"
echo "ok 2 - 8 charges of 5 all seen waiting on the user's row lock; released, 4 charged up to exactly balance_max ($ceiling), 4 refused with CR203"

# 3. Four sessions pay one reservation at once, each in SERIALIZABLE, the
# race forced: a session holds the seat's row (the first row a payment
# writes); the 4 payments start, take their snapshots and must all be seen
# waiting on a lock before the row is let go. Then exactly one pays and the
# other 3 fail with 40001 (the server retries those; the retry is refused).
res=$(q -c "insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
            values ($user, $concert, $date_id, 7, 100, now(), now() + interval '5 minutes') returning reservation_id")
q -c "update app.seats set status = 'HELD', user_id = $user, reservation_id = $res, hold_expires_at = now() + interval '5 minutes'
      where date_id = $date_id and seat_no = 7"
tok=$(q -c "update app.queue_tickets set status = 'USED', ended_at = now() where token = '$tok'" \
      && token "$user" 2)
before=$(q -c "select balance from app.users where user_id = $user")
out=$(mktemp -d)
hold_row pay_seat_holder "select 1 from app.seats where date_id = $date_id and seat_no = 7 for update"
pids=()
for i in 1 2 3 4; do
  psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=pay_race_$i" -c "begin isolation level serializable" \
    -c "select api.payment_create('$tok', $res)->>'status'" -c "commit" >"$out/$i" 2>&1 &
  pids+=($!)
done
waiting=$(until_true "select count(*) = 4 from pg_stat_activity
                      where datname = current_database() and application_name like 'pay_race_%' and wait_event_type = 'Lock'")
let_go pay_seat_holder
wait "$holder" 2>/dev/null || true
for pid in "${pids[@]}"; do wait "$pid" || true; done
[ "$waiting" = t ] || fail "the 4 payments were not all seen waiting on a lock while the seat's row was held: $(cat "$out"/*)"
outcomes=$(cat "$out"/* | sort | paste -sd'|')
[ "$outcomes" = "COMPLETED|ERROR:  40001|ERROR:  40001|ERROR:  40001" ] \
  || fail "the 4 payments answered $outcomes, expected one COMPLETED and three 40001"
after=$(q -c "select balance from app.users where user_id = $user")
[ "$after" = $((before - 100)) ] || fail "balance $after, expected $((before - 100))"
[ "$(q -c "select count(*) from app.payments where reservation_id = $res")" = 1 ] || fail "payments"
echo "ok 3 - 4 SERIALIZABLE payments of one reservation all seen waiting on the seat's row lock; released, one paid, three failed with 40001"
rm -r "$out"
broken=$(q -c "select count(*) from api.audit()")
[ "$broken" = 0 ] || fail "audit: $(q -c 'select * from api.audit()')"
echo "ok 4 - api.audit reports nothing"

# 5. One token, two holds, two READ COMMITTED payments at once: the token is
# used up once. A pays and keeps its transaction open; B starts meanwhile and
# must wait for A's locks (A itself watches for B waiting on a lock that A
# holds, pg_blocking_pids, and commits only then, or after 20 s, recording
# whether it saw it); then B finds the token USED and is refused with CR302.
tok=$(token "$user" 3)
hold() {  # a HELD reservation of seat $1, echoing its id
  local r
  r=$(q -c "insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
            values ($user, $concert, $date_id, $1, 100, now(), now() + interval '5 minutes') returning reservation_id")
  q -c "update app.seats set status = 'HELD', user_id = $user, reservation_id = $r, hold_expires_at = now() + interval '5 minutes'
        where date_id = $date_id and seat_no = $1"
  echo "$r"
}
res_a=$(hold 11)
res_b=$(hold 12)
before=$(q -c "select balance from app.users where user_id = $user")
out=$(mktemp -d)
psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=pay_a" \
  -c "begin" -c "select api.payment_create('$tok', $res_a)->>'status'" \
  -c "do \$\$ declare v_until timestamptz := clock_timestamp() + interval '20 seconds'; v_waited boolean := false; begin
        while not v_waited and clock_timestamp() < v_until loop
          perform pg_stat_clear_snapshot();
          v_waited := exists (select from pg_stat_activity a
                              where a.datname = current_database() and a.application_name = 'pay_b' and a.wait_event_type = 'Lock'
                                and pg_backend_pid() = any (pg_blocking_pids(a.pid)));
          perform pg_sleep(0.01);
        end loop;
        perform set_config('tests.b_waited', v_waited::text, false); end \$\$" \
  -c "commit" -c "select 'B waited on A: ' || current_setting('tests.b_waited')" >"$out/a" 2>&1 &
pay_a=$!
# B starts once A has paid and is in its loop, its transaction open.
a_paid=$(until_true "select exists (select from pg_stat_activity where datname = current_database() and application_name = 'pay_a' and wait_event = 'PgSleep')")
psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=pay_b" \
  -c "select api.payment_create('$tok', $res_b)->>'status'" >"$out/b" 2>&1 || true
wait "$pay_a" || true
[ "$a_paid" = t ] || fail "A never paid and held its transaction: $(cat "$out/a")"
[ "$(paste -sd'|' "$out/a")" = "COMPLETED|B waited on A: true" ] || fail "A: $(paste -sd'|' "$out/a"), expected COMPLETED and B seen waiting on A's lock"
[ "$(cat "$out/b")" = "ERROR:  CR302" ] || fail "B was not refused with CR302: $(cat "$out/b")"
after=$(q -c "select balance from app.users where user_id = $user")
[ "$after" = $((before - 100)) ] || fail "balance $after, expected $((before - 100))"
[ "$(q -c "select status from app.reservations where reservation_id = $res_b")" = HELD ] || fail "B's reservation changed"
[ "$(q -c "select count(*) from app.payments where reservation_id in ($res_a, $res_b)")" = 1 ] || fail "payments"
rm -r "$out"
broken=$(q -c "select count(*) from api.audit()")
[ "$broken" = 0 ] || fail "audit: $(q -c 'select * from api.audit()')"
echo "ok 5 - one token, two holds, two payments at once, B seen waiting on A's lock: one paid, the other CR302, debited once"
