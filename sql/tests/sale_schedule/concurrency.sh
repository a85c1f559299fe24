#!/usr/bin/env bash
# Concurrency checks of a scheduled opening, with real sessions and the real
# clock, in a scratch database that this script recreates (scripts/dev-sql):
# never point it at a real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/sale_schedule/concurrency.sh [DBNAME]  (default s_conc)
# Prints TAP; exit status 1 when a check fails. Each check first proves the
# race happened (the join really in flight across the opening, the ticket
# really locked while the opening ran) before it looks at the outcome.
set -euo pipefail
db=${1:-s_conc}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
token() { q -c "select token from app.queue_tickets where user_id = $1 and status in ('WAITING', 'ACTIVE')"; }
locked() { q -c "select count(*) = 0 from (select from app.queue_tickets where token = '$1' for update skip locked) x"; }
# the place of user u's ticket among the concert's tickets, by number (1 = first)
place() { q -c "select count(*) from app.queue_tickets t, app.queue_tickets m
                where m.user_id = $1 and m.status in ('WAITING', 'ACTIVE') and t.concert_id = m.concert_id
                  and t.queue_no <= m.queue_no"; }
# WAITING tickets whose position (a poll) is not their exact place
wrong_positions() { q -c "select count(*) from (
                            select t.token, row_number() over (order by t.queue_no) as place
                            from app.queue_tickets t where t.concert_id = 1 and t.status = 'WAITING') w
                          where (api.queue_status(w.token) ->> 'position')::bigint is distinct from w.place"; }
opened() { q -c "select sale_opened_at is not null from app.concerts where concert_id = 1"; }
echo "1..14"

# One concert, cap 100; 300 fans join, then its opening is scheduled 4 s
# from now (the fans already waiting are in its pre-queue).
q <<'SQL'
select api.setting_set('user_keys', 'optional') \g /dev/null
select api.setting_set('queue_active_cap', '100') \g /dev/null
insert into app.concerts (title, venue) values ('opening', 'Hall');
insert into app.users (name) select 'fan ' || g from generate_series(1, 400) g;
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j where u.user_id <= 300 \g /dev/null
select api.sale_schedule(1, clock_timestamp() + interval '4 seconds') \g /dev/null
SQL
opens=$(q -c "select extract(epoch from sale_opens_at) from app.concerts where concert_id = 1")
# sleeps until OFFSET seconds after the opening (negative: before it)
sleep_until() { sleep "$(echo "x = $opens + $1 - $(date +%s.%N); if (x < 0) 0 else x" | bc)"; }

# 1. A join in flight across the opening: user 301 joins 2 s before the
# opening and commits about 1.5 s after it. The admission run in between
# sets the opening's cut past 301's number but must not open the sale (the
# line is not closed up to the cut while 301 is in flight); the next run
# after the commit opens it with 301 in the pre-queue.
sleep_until -2
q -c 'begin' -c 'select status from api.queue_join(301, 1)' -c 'select pg_sleep(3.5)' -c 'commit' > /dev/null &
join_pid=$!
sleep_until 0.3
inflight=$(q -c "select count(*) from pg_locks where locktype = 'advisory' and classid = 1114793 and objid = 1 and objsubid = 2 and granted
                       and database = (select oid from pg_database where datname = current_database())")
# user 302 joins after the opening time, before the opening is done
p302=$(q -c "select coalesce(body->>'position', 'null') from api.queue_join(302, 1)")
q -c 'call api.queue_admit_run()' > /dev/null
check "301's join was in flight (holding the join mark) after the opening time" "$inflight" 1
check "a join after the opening time, before the opening is done, has no position yet" "$p302" null
check "the run meanwhile sets the cut but does not open the sale: the line is not closed up to the cut" \
  "$(opened) $(q -c "select sale_cut is not null from app.concerts where concert_id = 1")" "f t"
check "and admits nobody" "$(q -c "select count(*) from app.queue_tickets where status = 'ACTIVE'")" 0
wait "$join_pid"

# 2. The opening run meets a poll (a "still here" write) and a leave, each
# holding a pre-queued ticket for 2 s: the opening waits for both, and
# counts the leave's departure where the ticket then was.
t5=$(token 5); t7=$(token 7)
q -c 'begin' -c "select app.queue_status('$t5', now() + interval '31 seconds')" -c 'select pg_sleep(2)' -c 'commit' > /dev/null &
q -c 'begin' -c "select api.queue_leave('$t7')" -c 'select pg_sleep(2)' -c 'commit' > /dev/null &
sleep 0.5
before="$(locked "$t5") $(locked "$t7")"
# polls of every ticket keep going while the opening runs (each poll of the
# whole line notes when it ended)
( for i in 1 2 3 4 5 6; do
    q -c "select extract(epoch from clock_timestamp()) from (select count(api.queue_status(token))
          from app.queue_tickets where concert_id = 1 and status = 'WAITING') x" >> "$tmp/polls" || echo failed >> "$tmp/polls"
  done ) &
polls_pid=$!
start=$(date +%s.%N)
psql -X -q -At -d "dbname=$db application_name=opening" -c 'call api.queue_admit_run()' > /dev/null &
opening_pid=$!
# the opening is seen waiting for a ticket's lock, not merely slow
waited=$(until_true "select exists (select from pg_stat_activity where datname = current_database()
                                    and application_name = 'opening' and wait_event_type = 'Lock')")
wait "$opening_pid"
end=$(date +%s.%N)
wait "$polls_pid"
wait
during=$(awk -v s="$start" -v e="$end" '$1 != "failed" && $1 > s && $1 < e {n++} END {print (n > 0 ? "t" : "f")}' "$tmp/polls")
check "the poll and the leave held their tickets when the opening ran" "$before" "t t"
check "the opening waited for them (seen waiting on a lock)" "$waited" t
check "the sale is open" "$(opened)" t
check "polls ended while the opening ran, and all answered" "$during $(grep -c failed "$tmp/polls" || true)" "t 0"
check "the leave's ticket left the line" "$(q -c "select status from app.queue_tickets where user_id = 7")" LEFT
check "100 admitted, all from the pre-queue" \
  "$(q -c "select count(*), count(*) filter (where user_id <= 301) from app.queue_tickets where status = 'ACTIVE'")" "100|100"
check "the pre-queue is the 301 who joined before the opening, the one in flight included, less the one who left" \
  "$(q -c "select sale_prequeued from app.concerts where concert_id = 1")" 300
check "302, who joined after the opening time, is behind the whole pre-queue" "$(place 302)" 302
check "every position is exact at the first poll after the opening" "$(wrong_positions)" 0
check "api.audit() finds nothing" "$(q -c "select count(*) from api.audit()")" 0
exit $failed
