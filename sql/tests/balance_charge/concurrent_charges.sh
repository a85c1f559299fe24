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
set -euo pipefail
db=${1:?database name}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

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

# 2. Racing charges against the ceiling: balance_max = balance + 100, 8 sessions try 10 charges of 5.
ceiling=$((balance + 100))
q -c "select api.setting_set('balance_max', '$ceiling')" >/dev/null
for i in 1 2 3 4 5 6 7 8; do
  ( for _ in $(seq 10); do echo "select api.balance_charge('$tok', 5);"; done \
      | psql -X -q -At -d "$db" >/dev/null 2>&1 || true ) &
done
wait
balance=$(q -c "select balance from app.users where user_id = $user")
[ "$balance" = "$ceiling" ] || fail "balance $balance, expected exactly the ceiling $ceiling"
echo "ok 2 - racing charges stop exactly at balance_max ($ceiling)"

# 3. Four sessions pay one reservation at once, each in SERIALIZABLE.
res=$(q -c "insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
            values ($user, $concert, $date_id, 7, 100, now(), now() + interval '5 minutes') returning reservation_id")
q -c "update app.seats set status = 'HELD', user_id = $user, reservation_id = $res, hold_expires_at = now() + interval '5 minutes'
      where date_id = $date_id and seat_no = 7"
tok=$(q -c "update app.queue_tickets set status = 'USED', ended_at = now() where token = '$tok'" \
      && token "$user" 2)
before=$(q -c "select balance from app.users where user_id = $user")
out=$(mktemp -d)
for i in 1 2 3 4; do
  ( psql -X -q -At -d "$db" -c "begin isolation level serializable" \
      -c "select api.payment_create('$tok', $res)" -c "commit" >"$out/$i" 2>&1 || true ) &
done
wait
paid=$(grep -l '"COMPLETED"' "$out"/* | wc -l)
[ "$paid" = 1 ] || fail "$paid sessions paid: $(cat "$out"/*)"
after=$(q -c "select balance from app.users where user_id = $user")
[ "$after" = $((before - 100)) ] || fail "balance $after, expected $((before - 100))"
[ "$(q -c "select count(*) from app.payments where reservation_id = $res")" = 1 ] || fail "payments"
echo "ok 3 - of 4 racing payments one paid; the others got: $(grep -ho 'ERROR: .*' "$out"/* | sort | uniq -c | tr -s ' ' | paste -sd';')"
rm -r "$out"
broken=$(q -c "select count(*) from api.audit()")
[ "$broken" = 0 ] || fail "audit: $(q -c 'select * from api.audit()')"
echo "ok 4 - api.audit reports nothing"

# 5. One token, two holds, two READ COMMITTED payments at once: the token is
# used up once. A pays and keeps its transaction open for a second; B starts
# meanwhile, waits for A's locks, then finds the token USED.
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
( psql -X -q -At -d "$db" -c "begin" -c "select api.payment_create('$tok', $res_a)" -c "select pg_sleep(1)" -c "commit" \
    >"$out/a" 2>&1 || true ) &
sleep 0.3
psql -X -q -At -d "$db" -c "select api.payment_create('$tok', $res_b)" >"$out/b" 2>&1 || true
wait
grep -q '"COMPLETED"' "$out/a" || fail "A did not pay: $(cat "$out/a")"
grep -q 'token expired' "$out/b" || fail "B was not refused with CR302: $(cat "$out/b")"
after=$(q -c "select balance from app.users where user_id = $user")
[ "$after" = $((before - 100)) ] || fail "balance $after, expected $((before - 100))"
[ "$(q -c "select status from app.reservations where reservation_id = $res_b")" = HELD ] || fail "B's reservation changed"
[ "$(q -c "select count(*) from app.payments where reservation_id in ($res_a, $res_b)")" = 1 ] || fail "payments"
rm -r "$out"
broken=$(q -c "select count(*) from api.audit()")
[ "$broken" = 0 ] || fail "audit: $(q -c 'select * from api.audit()')"
echo "ok 5 - one token, two holds, two payments at once: one paid, the other CR302, debited once"
