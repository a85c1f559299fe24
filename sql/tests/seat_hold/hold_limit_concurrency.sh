#!/usr/bin/env bash
# Concurrency check of the hold limit (max_holds_per_token): holds of one
# user at one concert (the holds the limit counts) take turns on a
# transaction advisory lock of that pair (app.seat_hold), so holds racing on
# one token cannot all see room for one more. Here a session takes that lock and stays open; 8 holds of 8 different
# seats with the token start in sessions of their own and must all wait for
# it (checked in pg_locks), each keeping its transaction open for a moment
# after its hold, as a slow request would. Once the lock is let go, exactly
# max_holds_per_token of them hold a seat and the rest are refused with
# CR206. Needs several sessions, so it runs outside pgTAP, in a scratch
# database that this script recreates (scripts/dev-sql): never point it at a
# real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/seat_hold/hold_limit_concurrency.sh [DBNAME]  (default s_hold_limit)
# Prints TAP; exit status 1 when a check fails.
set -euo pipefail
db=${1:-s_hold_limit}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..7"

limit=3
read -r concert date_id user token <<<"$(q -F ' ' <<SQL
select api.setting_set('max_holds_per_token', '$limit') \g /dev/null
select tests.concert(starts_in => '1 day') as concert \gset
select tests.user('fan') as fan \gset
select :concert, tests.date_of(:concert), :fan, tests.active_ticket(:fan, :concert);
SQL
)"
# The hold limit's lock of the token's user and concert, as app.seat_hold
# takes it, and as pg_locks shows a bigint advisory key: its high and low 32
# bits, objsubid 1.
key="hashtextextended('hold_limit:$user:$concert', 0)"
on_key="l.locktype = 'advisory' and l.objsubid = 1
        and l.classid = (($key >> 32) & 4294967295)::oid and l.objid = ($key & 4294967295)::oid
        and l.database = (select oid from pg_database where datname = current_database())"

# The holder: takes the lock and sleeps, until this script ends it.
psql -X -q -At -d "dbname=$db application_name=hold_lock" \
  -c "begin" -c "select pg_advisory_xact_lock($key)" -c "select pg_sleep(60)" >/dev/null 2>&1 &
holder=$!
check "the holder has the hold limit's lock" \
  "$(until_true "select exists (select from pg_locks l join pg_stat_activity a on a.pid = l.pid
                                where a.application_name = 'hold_lock' and l.granted and $on_key)")" t

# 8 holds of seats 1..8 with the token, each in its own session; a hold
# keeps its transaction (and the lock) for 0.3 s after it.
pids=()
for seat in 1 2 3 4 5 6 7 8; do
  psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=hold_$seat" \
    -c "begin" -c "select (api.seat_hold('$token', $concert, $date_id, $seat)).status" \
    -c "select pg_sleep(0.3)" -c "commit" >"$tmp/$seat" 2>&1 &
  pids+=($!)
done
check "all 8 holds wait for the hold limit's lock" \
  "$(until_true "select count(*) = 8 from pg_locks l join pg_stat_activity a on a.pid = l.pid
                 where a.application_name ~ '^hold_[0-9]$'
                   and not l.granted and $on_key")" t
check "... and none holds a seat yet" \
  "$(q -c "select count(*) from app.reservations where date_id = $date_id")" 0

q -c "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'hold_lock'" >/dev/null
wait "$holder" 2>/dev/null || true
for pid in "${pids[@]}"; do wait "$pid" || true; done

check "exactly $limit holds answer 201" "$(grep -lx 201 "$tmp"/[1-8] | wc -l)" "$limit"
check "the other $((8 - limit)) are refused with CR206 (HOLD_LIMIT)" "$(grep -lx 'ERROR:  CR206' "$tmp"/[1-8] | wc -l)" $((8 - limit))
check "the token's user holds exactly $limit seats, in reservations and in seats" \
  "$(q -c "select count(*) from app.reservations where date_id = $date_id and status = 'HELD'") $(q -c "select count(*) from app.seats where date_id = $date_id and status = 'HELD'")" \
  "$limit $limit"
check "api.audit() reports nothing" "$(q -c "select count(*) from api.audit()")" 0
exit $failed
