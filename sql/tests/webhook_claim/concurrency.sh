#!/usr/bin/env bash
# Concurrency check of api.webhook_claim: two deliverers claiming at once
# never claim the same outbox event (the claim locks its events FOR UPDATE
# SKIP LOCKED, so a row another claim holds is left to it). Deliverer A claims
# the 3 oldest of 6 due events and keeps its transaction open until this
# script lets it commit; deliverer B claims meanwhile. The race is proved
# before the outcome is judged: A's 3 rows are seen locked before B starts,
# and B is seen to have finished (without ever waiting for a lock) while they
# are still locked, so B ran wholly inside A's claim. Then B must have
# claimed exactly the other 3, and once A commits every event has counted
# exactly one attempt. Without SKIP LOCKED B waits for A's rows (and claims
# them again after A commits, or leaves them and waits anyway): checks 2 to 5
# fail. Needs several sessions, so it runs outside pgTAP, in a scratch
# database that this script recreates (scripts/dev-sql): never point it at a
# real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/webhook_claim/concurrency.sh [DBNAME]  (default w_claim)
# Prints TAP; exit status 1 when a check fails.
set -euo pipefail
db=${1:-w_claim}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..5"

# Six due events, each of a reservation of its own (so the order rule holds
# none back); the seed's events are marked delivered so that only these count.
events=$(q <<'SQL'
update app.outbox set delivery_status = 'DELIVERED' where delivery_status = 'PENDING' \g /dev/null
select string_agg(app.outbox_add('test.race', null, 9000 + g, jsonb_build_object('n', g))::text, ' ' order by g)
from generate_series(1, 6) g;
create table public.release ();
SQL
)
read -r e1 e2 e3 e4 e5 e6 <<<"$events"
# The pending events whose rows another transaction holds locked (this
# probe locks the others for a moment and lets them go).
locked="with free as (select event_id from app.outbox where delivery_status = 'PENDING' for update skip locked)
        select coalesce(string_agg(event_id::text, ' ' order by event_id), 'none') from app.outbox
        where delivery_status = 'PENDING' and event_id not in (select event_id from free)"

# Deliverer A: claims 3 events, then keeps its transaction (and their rows)
# until a row appears in public.release (at most 20 s), and commits.
psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=claim_a" \
  -c "begin" -c "select event_id from api.webhook_claim(3, 30) order by event_id" \
  -c "do \$\$ declare v_until timestamptz := clock_timestamp() + interval '20 seconds'; begin
        while not exists (select from public.release) and clock_timestamp() < v_until loop
          perform pg_sleep(0.01);
        end loop; end \$\$" \
  -c "commit" >"$tmp/a" 2>&1 &
a=$!
a_ready=$(until_true "select exists (select from pg_stat_activity where datname = current_database() and application_name = 'claim_a' and wait_event = 'PgSleep')")
check "A claimed the 3 oldest events and holds their rows, its transaction open" \
  "$a_ready $(q -c "$locked")" "t $e1 $e2 $e3"

# Deliverer B claims up to 10 while A holds. Watch it until it ends or is
# seen waiting on a lock (at most 20 s).
psql -X -q -At -v VERBOSITY=sqlstate -d "dbname=$db application_name=claim_b" \
  -c "select event_id from api.webhook_claim(10, 30) order by event_id" >"$tmp/b" 2>&1 &
b=$!
b_state=running
for _ in $(seq 200); do
  if ! kill -0 "$b" 2>/dev/null; then b_state=finished; break; fi
  if [ "$(q -c "select exists (select from pg_stat_activity where datname = current_database() and application_name = 'claim_b' and wait_event_type = 'Lock')")" = t ]; then
    b_state="waiting on a lock"; break
  fi
  sleep 0.05
done
check "B finished, never waiting on a lock, while A still held its 3 rows in its open transaction" \
  "$b_state; A $(q -c "select state from pg_stat_activity where datname = current_database() and application_name = 'claim_a'"); locked $(q -c "$locked")" \
  "finished; A active; locked $e1 $e2 $e3"
# A commits (a B still waiting for A's rows goes on then).
q -c "insert into public.release default values"
wait "$a" || true
wait "$b" || true
check "B claimed exactly the 3 events A did not, none of A's" "$(paste -sd' ' "$tmp/b")" "$e4 $e5 $e6"
check "A committed its claim of the 3 oldest" "$(paste -sd' ' "$tmp/a")" "$e1 $e2 $e3"
check "each of the 6 events counted exactly one attempt and is leased" \
  "$(q -c "select string_agg(attempts || ':' || (next_attempt_at > now() + interval '20 seconds'), ' ' order by event_id)
           from app.outbox where event_id between $e1 and $e6")" \
  "1:true 1:true 1:true 1:true 1:true 1:true"
exit $failed
