#!/usr/bin/env bash
# The moment a hold lapses, its holder's payment and another fan's hold of
# the same seat race, and the seat must still go to one of them only. Fan A
# holds seat 1; A pays one second before the hold's end (app.payment_create,
# SERIALIZABLE, at = end - 1 s) while fan B holds the seat one second after
# it (app.seat_hold, READ COMMITTED, as_of = end + 1 s): each is right by its
# own clock. The race is forced and proved before the outcome is judged: a
# session holds the seat's row, both calls are seen waiting on a lock, then
# the row is let go, three times over (each round a fresh seat). Whichever
# gets the row first wins: either A's payment completes and B is refused
# with CR201 (SEAT_TAKEN), or B's hold is made and A's payment fails (40001,
# which the server retries into a refusal, or a refusal outright); never
# both, and the seat, the reservations and the audit agree with the winner.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/seat_hold/lapse_race.sh [DBNAME]  (default lapse_race)
set -euo pipefail
db=${1:-lapse_race}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..10"

# Fans A and B admitted on one concert with money.
fans 2 Lapse
read -r concert date_id <<<"$(q -F ' ' -c "select c.concert_id, d.date_id from app.concerts c join app.concert_dates d using (concert_id) where c.title = 'Lapse'")"
token() { q -c "select token from public.fan where n = $1"; }
b_token=$(token 2)

for seat in 1 2 3; do
  # A's live token (a payment uses it up: A joins again and is admitted)
  a_token=$(q -c "select (j.body ->> 'token')::uuid from public.fan f
                  cross join lateral api.queue_join(f.user_id, $concert) j where f.n = 1")
  q -c "select api.queue_admit()" >/dev/null
  # A holds the seat; its hold ends at $ends.
  res=$(q -c "select body ->> 'reservationId' from api.seat_hold('$a_token', $concert, $date_id, $seat)")
  ends=$(q -c "select hold_expires_at from app.seats where date_id = $date_id and seat_no = $seat")
  q -c "begin" -c "select 1 from app.seats where date_id = $date_id and seat_no = $seat for update" \
    -c "select pg_sleep(60)" -v ON_ERROR_STOP=0 >/dev/null 2>&1 &
  holder=$!
  held=$(until_true "select exists (select from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep')")
  psql -X -q -At -v VERBOSITY=sqlstate -d "$db" -c "begin isolation level serializable" \
    -c "select app.payment_create('$a_token', $res, at => timestamptz '$ends' - interval '1 second') ->> 'status'" \
    -c "commit" >"$tmp/pay$seat" 2>&1 &
  pay=$!
  psql -X -q -At -v VERBOSITY=sqlstate -d "$db" \
    -c "select (app.seat_hold('$b_token', $concert, $date_id, $seat, as_of => timestamptz '$ends' + interval '1 second')).status" \
    >"$tmp/hold$seat" 2>&1 &
  take=$!
  both=$(until_true "select count(*) = 2 from pg_stat_activity where datname = current_database()
                     and wait_event_type = 'Lock' and (query like '%payment_create%' or query like '%seat_hold%')")
  q -c "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and wait_event = 'PgSleep'" >/dev/null
  wait "$holder" "$pay" "$take" || true
  check "seat $seat: the row held, A's payment and B's hold both seen waiting on it" "$held $both" "t t"

  paid=$(grep -cx COMPLETED "$tmp/pay$seat" || true)
  taken=$(grep -cx 201 "$tmp/hold$seat" || true)
  if [ "$paid" = 1 ]; then
    want_pay=COMPLETED want_hold='ERROR:  CR201' want_seat="SOLD $(q -c "select user_id from public.fan where n = 1") PAID"
    have_pay=COMPLETED have_hold=$(grep -v '^$' "$tmp/hold$seat" | paste -sd' ')
  else
    # B won: A's payment failed by the rules (expired or not payable) or by
    # the serialization check the server retries.
    want_pay=refused want_hold=201 want_seat="HELD $(q -c "select user_id from public.fan where n = 2") EXPIRED"
    have_pay=$(grep -qxE 'ERROR:  (40001|CR202|CR205)' "$tmp/pay$seat" && echo refused || grep -v '^$' "$tmp/pay$seat" | paste -sd' ')
    have_hold=$(grep -v '^$' "$tmp/hold$seat" | paste -sd' ')
  fi
  check "seat $seat: exactly one of them won (payment: $(paste -sd' ' "$tmp/pay$seat"); hold: $(paste -sd' ' "$tmp/hold$seat"))" \
    "$((paid + taken)) $have_pay | $have_hold" "1 $want_pay | $want_hold"
  check "seat $seat: the seat and A's reservation agree with the winner" \
    "$(q -c "select s.status || ' ' || s.user_id || ' ' || r.status from app.seats s, app.reservations r
             where s.date_id = $date_id and s.seat_no = $seat and r.reservation_id = $res")" "$want_seat"
done
check "api.audit() reports nothing" "$(q -c "select coalesce(string_agg(invariant || ' ' || subject, ', '), 'nothing') from api.audit()")" nothing
exit $failed
