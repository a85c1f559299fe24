#!/usr/bin/env bash
# A large admission meets a fan's poll in flight. With thousands of fans'
# pages open, their event streams' refreshes record "still here" on WAITING
# tickets hundreds of times a second, each a write that holds the ticket's
# row for a moment; admission claims tickets SKIP LOCKED and must not admit
# anyone behind one it could not lock. It waits for such a ticket (for a
# while) instead of stopping below it, or 5 000 meant to go in at once become
# a few dozen. Needs committed data and several sessions, so it runs outside
# pgTAP, in a scratch database this script recreates (scripts/dev-sql): never
# point it at a real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/queue_events/poll_in_flight.sh [DBNAME]  (default q_poll)
# Prints TAP; exit status 1 when a check fails.
set -euo pipefail
db=${1:-q_poll}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..5"

# One concert, 600 in line, room for all of them.
q <<'SQL'
insert into app.concerts (title, venue) values ('poll in flight', 'Hall');
insert into app.queues (concert_id) values (1);
insert into app.users (name) select 'fan ' || g from generate_series(1, 600) g;
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j \g /dev/null
select api.setting_set('queue_active_cap', '600') \g /dev/null
SQL
polled=$(q -c "select token from app.queue_tickets where user_id = 300")

# The poll of user 300's ticket, 31 s on (so it writes last_seen_at), in one
# script: its transaction stays open until it sees the admission asleep
# between tries of a lock, then commits at once (so the commit does not
# depend on how fast this shell is); it fails after 20 s if admission never
# waits. It records what it saw in a table of this scratch database.
q -c "create table public.seen (admission_waited boolean)"
psql -X -q -At -d "dbname=$db application_name=held_poll" -c "
begin;
select app.queue_status('$polled', now() + interval '31 seconds');
do \$\$
declare
  v_until timestamptz := clock_timestamp() + interval '20 seconds';
  v_waited boolean := false;
begin
  while not v_waited and clock_timestamp() < v_until loop
    perform pg_stat_clear_snapshot();
    v_waited := exists (select from pg_stat_activity a
                        where a.datname = current_database() and a.pid <> pg_backend_pid()
                          and a.wait_event = 'PgSleep' and a.query like '%api.queue_admit()%');
    perform pg_sleep(0.001);
  end loop;
  insert into public.seen values (v_waited);
end
\$\$;
commit;" > "$tmp/poll" 2>&1 &
poll=$!
# Admission starts once the poll holds the row (it is in its loop).
q -c "do \$\$ begin
        while not exists (select from pg_stat_activity where application_name = 'held_poll' and wait_event = 'PgSleep') loop
          if clock_timestamp() > now() + interval '20 seconds' then raise exception 'the poll never held the ticket'; end if;
          perform pg_stat_clear_snapshot(); perform pg_sleep(0.001);
        end loop; end \$\$"
held=$(q -c "select count(*) = 0 from (select from app.queue_tickets where token = '$polled' for update skip locked) x")
admitted=$(q -c "select api.queue_admit()")
wait "$poll" || true
check "the poll held user 300's ticket when admission started" "$held" t
check "admission met the poll's lock and waited for it" "$(q -c 'select admission_waited from public.seen')" t
check "one admission admitted all 600, the polled ticket's followers too" "$admitted" 600
check "the poll committed its write first, then admission took the ticket" \
  "$(q -c "select status || ' ' || (last_seen_at > joined_at + interval '30 seconds') from app.queue_tickets where token = '$polled'")" "ACTIVE true"
check "in arrival order, and the audit is clean" \
  "$(q -c "select count(*) from app.queue_tickets where status = 'WAITING'") $(q -c 'select count(*) from api.audit()')" "0 0"

exit $failed
