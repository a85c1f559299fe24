#!/usr/bin/env bash
# Counting the line never makes anyone wait. Joins far past a concert's
# counted part count its arrivals (app.queue_count_help), and admission
# counts at each run, but one session at a time per concert, under an
# advisory lock taken without waiting (app.queue_count_lock): whoever does
# not get it leaves the counting to the holder. Here a session holds that
# lock and stays open: 600 joins and an admission run must finish while it
# holds it (checked in pg_locks after they return), count nothing, and keep
# every position exact; once it is gone, the next join counts. Needs several
# sessions, so it runs outside pgTAP, in a scratch database this script
# recreates (scripts/dev-sql): never point it at a real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/queue_join/counting_lock.sh [DBNAME]  (default q_counting)
# Prints TAP; exit status 1 when a check fails.
set -euo pipefail
db=${1:-q_counting}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..10"

q <<'SQL'
insert into app.concerts (title, venue) values ('counting', 'Hall');
insert into app.queues (concert_id) values (1);
insert into app.users (name) select 'fan ' || g from generate_series(1, 701) g;
select api.setting_set('queue_active_cap', '10') \g /dev/null
SQL

# The holder: takes the concert's counting lock and sleeps, until this
# script ends it.
psql -X -q -At -d "dbname=$db application_name=counter" \
  -c "begin" -c "select app.queue_count_lock(1)" -c "select pg_sleep(60)" >/dev/null 2>&1 &
holder=$!
held="select exists (select from pg_locks l join pg_stat_activity a on a.pid = l.pid
                     where a.application_name = 'counter' and l.locktype = 'advisory'
                       and l.classid = 1114792 and l.objid = 1 and l.objsubid = 2 and l.granted)"
check "the holder has the counting lock of the concert" "$(until_true "$held")" t

# 600 joins, each far past the counted part (nothing is counted), in one
# transaction, with the last close of the line long past: each would count.
sleep 0.05
joined=$(q -c "select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j
               where u.user_id <= 600 and j.status = 201")
check "600 joins answered 201" "$joined" 600
check "... while the holder still had the lock (so they did not wait for it)" "$(q -c "$held")" t
check "... and counted nothing" "$(q -c "select count(*) from app.queue_counted where concert_id = 1")" 0

# Admission too runs past it: it admits, and leaves the counting.
admitted=$(q -c "select api.queue_admit()")
check "an admission run admits 10 while the lock is held, and counts nothing" \
  "$admitted $(q -c "$held") $(q -c "select count(*) from app.queue_counted where concert_id = 1")" "10 t 0"

# Every position is exact, counted on the index alone.
wrong=$(q -c "with w as (select t.token, row_number() over (order by t.queue_no) as recount
                         from app.queue_tickets t where t.concert_id = 1 and t.status = 'WAITING')
              select count(*) from w where (api.queue_status(w.token)->>'position')::bigint <> w.recount")
check "every WAITING ticket's position is exact" "$wrong" 0

# The holder goes; the next join (past the counted part, the last close over
# 20 ms old) counts the line up to its own number.
kill "$holder" 2>/dev/null || true
q -c "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'counter'" >/dev/null
wait "$holder" 2>/dev/null || true
check "the holder is gone" "$(until_true "select not ($held)")" t
sleep 0.05
last=$(q -c "select (j.body->>'token') from api.queue_join(601, 1) j")
check "the next join counts the line up to the unit of 32 of its own number, and the audit is clean" \
  "$(q -c "select k.counted_below = (t.queue_no + 1) / 32 * 32 from app.queue_counted k, app.queue_tickets t
            where k.concert_id = 1 and t.token = '$last'") $(q -c "select count(*) from api.audit()")" "t 0"

# A rebuild of the counters (api.queue_blocks_rebuild) holds (1114791, 1)
# exclusively while it runs: joins then skip counting rather than wait for it.
psql -X -q -At -d "dbname=$db application_name=rebuild" \
  -c "begin" -c "select pg_advisory_xact_lock(1114791, 1)" -c "select pg_sleep(60)" >/dev/null 2>&1 &
rebuilder=$!
rebuilding="select exists (select from pg_locks l join pg_stat_activity a on a.pid = l.pid
                           where a.application_name = 'rebuild' and l.locktype = 'advisory'
                             and l.classid = 1114791 and l.objid = 1 and l.granted)"
until_true "$rebuilding" >/dev/null
counted=$(q -c "select counted_below from app.queue_counted where concert_id = 1")
# 300 numbers handed out with no ticket here: each of the joins below lies
# past the counted part by more than app.queue_count_every(), so each would count
q -c "select count(nextval('app.queue_tickets_queue_no_seq')) from generate_series(1, 300)" >/dev/null
sleep 0.05
joined=$(q -c "select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j
               where u.user_id between 602 and 701 and j.status = 201")
check "100 joins answer while a rebuild holds the counting, and count nothing" \
  "$joined $(q -c "$rebuilding") $(q -c "select counted_below from app.queue_counted where concert_id = 1")" "100 t $counted"
q -c "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'rebuild'" >/dev/null
wait "$rebuilder" 2>/dev/null || true
check "after it, every position is exact and the audit is clean" \
  "$(q -c "with w as (select t.token, row_number() over (order by t.queue_no) as recount
                      from app.queue_tickets t where t.concert_id = 1 and t.status = 'WAITING')
           select count(*) from w where (api.queue_status(w.token)->>'position')::bigint <> w.recount") $(q -c "select count(*) from api.audit()")" "0 0"
exit $failed
