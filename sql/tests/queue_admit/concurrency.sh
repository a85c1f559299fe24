#!/usr/bin/env bash
# Concurrency checks of admission and of the sequence-ordered line across
# sessions. They need committed data and several sessions, so they run
# outside pgTAP, in a scratch database that this script recreates
# (scripts/dev-sql): never point it at a real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/queue_admit/concurrency.sh [DBNAME]  (default q_conc)
# Prints TAP; exit status 1 when a check fails. Each check first proves the
# race happened (the row really locked, the join really in flight) and
# fails when admission breaks arrival order.
set -euo pipefail
db=${1:-q_conc}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
# the place in line of user u's live ticket (1 = first), WAITING or not
place() { q -c "select count(*) from app.queue_tickets t, app.queue_tickets m
                where m.user_id = $1 and m.status in ('WAITING', 'ACTIVE') and t.concert_id = m.concert_id
                  and t.queue_no <= m.queue_no"; }
token() { q -c "select token from app.queue_tickets where user_id = $1 and status in ('WAITING', 'ACTIVE')"; }
status() { q -c "select string_agg(status, ' ' order by user_id) from app.queue_tickets
                 where user_id in ($1) and (status in ('WAITING', 'ACTIVE') or ended_at is null)"; }
locked() { q -c "select count(*) = 0 from (select from app.queue_tickets where token = '$1' for update skip locked) x"; }
free_slots() { q -c "update app.queue_tickets set status = 'LEFT', ended_at = now()
                     where token in (select token from app.queue_tickets where status = 'ACTIVE' order by queue_no limit $1)"; }
echo "1..23"

# One concert, 300 users in line (cap 100 by default).
q <<'SQL'
insert into app.concerts (title, venue) values ('concurrency', 'Hall');
insert into app.users (name) select 'conc ' || g from generate_series(1, 600) g;
select count(*) from app.users u cross join lateral api.queue_join(u.user_id, 1) j where u.user_id <= 300 \g /dev/null
SQL

# 1. Two admitters at once: the first holds its transaction (and the
# concert) open for 4 s; the second starts meanwhile, skips the concert
# (SKIP LOCKED) at once and admits nobody.
psql -X -q -At -d "dbname=$db application_name=first_admitter" \
  -c 'begin' -c 'select api.queue_admit()' -c 'select pg_sleep(4)' -c 'commit' > "$tmp/a1" &
held=$(until_true "select count(*) = 0 from (select from app.queues where concert_id = 1 for update skip locked) x")
second=$(q -c 'select api.queue_admit()')
quick=$(asleep first_admitter)
wait
check "the first admitter held the concert while the second ran" "$held" t
check "first admitter admits the cap" "$(sed -n 1p "$tmp/a1")" 100
check "second admitter at the same time admits nobody, without waiting (the first still open when it returned)" "$second $quick" "0 t"
check "exactly 100 ACTIVE" "$(q -c "select count(*) from app.queue_tickets where status = 'ACTIVE'")" 100

# 2. A leave holding the first WAITING ticket (user 101) when a slot is
# free, and rolling back: admission skips it and admits nobody behind it;
# the next run admits it first.
free_slots 1
t101=$(token 101)
q -c 'begin' -c "select api.queue_leave('$t101')" -c 'select pg_sleep(4)' -c 'rollback' > /dev/null &
before=$(until_true "select count(*) = 0 from (select from app.queue_tickets where token = '$t101' for update skip locked) x")
q -c 'select api.queue_admit()' > /dev/null
after=$(locked "$t101")
check "the leave held user 101's ticket before and after the admission ran" "$before $after" "t t"
check "admission admitted nobody behind the locked ticket" "$(status 101,102)" "WAITING WAITING"
wait
q -c 'select api.queue_admit()' > /dev/null
check "the leave rolled back: the next run admits 101 first" "$(status 101,102)" "ACTIVE WAITING"

# 3. The same with a poll recording "still here" on 102 (a write, 31 s on),
# committing: 102 is admitted in its turn, 103 not before it.
free_slots 1
t102=$(token 102)
q -c 'begin' -c "select app.queue_status('$t102', now() + interval '31 seconds')" -c 'select pg_sleep(4)' -c 'commit' > /dev/null &
before=$(until_true "select count(*) = 0 from (select from app.queue_tickets where token = '$t102' for update skip locked) x")
q -c 'select api.queue_admit()' > /dev/null
after=$(locked "$t102")
check "the poll held user 102's ticket before and after the admission ran" "$before $after" "t t"
check "nobody behind the polled ticket was admitted" "$(status 102,103)" "WAITING WAITING"
wait
q -c 'select api.queue_admit()' > /dev/null
check "the next run admits 102 first" "$(status 102,103)" "ACTIVE WAITING"

# 4. Out-of-order commits: user 400 draws a number and stays in flight for
# 4 s; user 401 joins after it and commits at once. While 400 is invisible,
# 401's position does not count it, and admission does not admit 401
# before it (the line is not closed past 400's number).
q -c "update app.queue_tickets set status = 'LEFT', ended_at = now() where status = 'WAITING' and user_id between 103 and 300"
q -c 'begin' -c 'select status from api.queue_join(400, 1)' -c 'select pg_sleep(4)' -c 'commit' > /dev/null &
inflight=$(until_true "select count(*) = 1 from pg_locks where locktype = 'advisory' and classid = 1114793 and objid = 1 and granted")
p401=$(q -c "select body->>'position' from api.queue_join(401, 1)")
free_slots 2
q -c 'select api.queue_admit()' > /dev/null
check "400's join was in flight (holding the join mark) while 401 joined" "$inflight" t
check "401 sees only the visible tickets ahead: position 1" "$p401" 1
check "admission does not admit 401 while an earlier number is in flight" "$(status 401)" WAITING
wait
check "once 400 committed, 401's position counts it: 2" "$(q -c "select api.queue_status('$(token 401)')->>'position'")" 2
q -c 'select api.queue_admit()' > /dev/null
check "then both are admitted" "$(status 400,401)" "ACTIVE ACTIVE"

# 5. A gap: user 402's join rolls back (its number is never used); 403's
# position and admission pass over the gap.
q -c 'begin' -c 'select status from api.queue_join(402, 1)' -c 'rollback' > /dev/null
q -c "select status from api.queue_join(403, 1)" > /dev/null
q -c "select status from api.queue_join(404, 1)" > /dev/null
check "a rolled-back join is not counted: 404 is second" "$(q -c "select api.queue_status('$(token 404)')->>'position'")" 2

# 6. Churn: 4 pgbench clients for 10 s mixing admissions, slots given up,
# leaves of WAITING tickets (rolled back) and new joins, and a checker
# that fails (division by zero) if it ever sees more than the cap ACTIVE.
# A leave locks its ticket first (in a materialized CTE: a function in the
# select list of a FOR UPDATE query runs before the row is locked). Read
# unlocked, the ticket could be admitted and given up by another client
# before the leave reaches it, and the leave would rightly answer CR302
# (token expired), which aborts a pgbench client.
cat > "$tmp/admit.sql" <<'SQL'
select api.queue_admit();
SQL
cat > "$tmp/churn.sql" <<'SQL'
\set u random(1, 600)
update app.queue_tickets set status = 'LEFT', ended_at = now()
where token = (select token from app.queue_tickets where status = 'ACTIVE' order by random() limit 1 for update skip locked);
select api.queue_join(:u, 1);
SQL
cat > "$tmp/leave.sql" <<'SQL'
\set u random(1, 600)
begin;
with mine as materialized (select token from app.queue_tickets where user_id = :u and status = 'WAITING' for update)
select api.queue_leave(token) from mine;
select pg_sleep(0.01);
rollback;
SQL
cat > "$tmp/check.sql" <<'SQL'
select 1 / (count(*) <= 100)::integer from app.queue_tickets where concert_id = 1 and status = 'ACTIVE' and expires_at > now();
SQL
if pgbench -n -d "$db" -c 4 -T 10 -f "$tmp/admit.sql@3" -f "$tmp/churn.sql@3" -f "$tmp/leave.sql@2" -f "$tmp/check.sql@2" > "$tmp/bench" 2>&1; then
  check "under churn no snapshot ever shows more than the cap ACTIVE (pgbench clients all finished)" ok ok
else
  check "under churn no snapshot ever shows more than the cap ACTIVE (pgbench clients all finished)" "$(grep -m 3 -iE 'error|abort' "$tmp/bench"; tail -3 "$tmp/bench")" ok
fi
check "under churn nobody was admitted while an earlier ticket waited, and the audit is clean" \
  "$(q -c "select count(*) from app.queue_tickets a join app.queue_tickets w on w.concert_id = a.concert_id
           and w.status = 'WAITING' and w.queue_no < a.queue_no where a.activated_at is not null") $(q -c 'select count(*) from api.audit()')" "0 0"
echo "# $(grep -E 'number of transactions actually processed' "$tmp/bench")"

# 7. Advisory locks are per database: a join mark held for 4 s in another
# database of the cluster (another Box Office, or a test run beside this
# one) does not hold up closing this database's line. A fresh join here is
# admitted by the first run, at once.
psql -X -q -At -d "dbname=postgres application_name=mark_elsewhere" \
  -c 'begin' -c 'select pg_advisory_xact_lock_shared(1114793, 1)' -c 'select pg_sleep(4)' -c 'commit' > /dev/null &
elsewhere=$(until_true "select count(*) = 1 from pg_locks where locktype = 'advisory' and classid = 1114793 and objid = 1 and granted
                        and database <> (select oid from pg_database where datname = current_database())")
q -c "update app.queue_tickets set status = 'LEFT', ended_at = now() where status in ('WAITING', 'ACTIVE')"
q -c "select status from api.queue_join(405, 1)" > /dev/null
q -c 'select api.queue_admit()' > /dev/null
quick=$(asleep mark_elsewhere)
check "a join mark was held in another database meanwhile" "$elsewhere" t
check "the line here closed past it at once (the mark still held when the run returned): 405 admitted by the first run" "$(status 405) $quick" "ACTIVE t"
wait

# 8. A slow join holds back only the line from its own number on: 410
# joined and committed; 411's join draws its number and stays in flight for
# 4 s; 412 joins after it and commits. The first run admits 410 at once,
# closes the line at 411's number and leaves 412 waiting behind it.
q -c "update app.queue_tickets set status = 'LEFT', ended_at = now() where status in ('WAITING', 'ACTIVE')"
q -c "select status from api.queue_join(410, 1)" > /dev/null
psql -X -q -At -d "dbname=$db application_name=slow_join" \
  -c 'begin' -c 'select status from api.queue_join(411, 1)' -c 'select pg_sleep(4)' -c 'commit' > /dev/null &
named=$(until_true "select count(*) = 1 from pg_locks where locktype = 'advisory' and classid = 1114794 and objsubid = 1 and granted")
q -c "select status from api.queue_join(412, 1)" > /dev/null
q -c 'select api.queue_admit()' > /dev/null
quick=$(asleep slow_join)
check "411's join was in flight, naming its number, while 412 joined and the run ran" "$named" t
check "the run admitted 410, ahead of the join in flight, at once (411 still in flight when it returned); 412 waits behind it" "$(status 410,412) $quick" "ACTIVE WAITING t"
wait
q -c 'select api.queue_admit()' > /dev/null
check "once 411 committed, the next run admits 411 and 412 in order" "$(status 411,412)" "ACTIVE ACTIVE"
exit $failed
