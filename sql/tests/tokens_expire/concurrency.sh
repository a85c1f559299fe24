#!/usr/bin/env bash
# Concurrency check of the departure counters (app.queue_blocks) across
# sessions: leaves, rejoins over dead tickets, idle expiry sweeps and
# admissions all at once on one long line, with polls that compare their
# position with a recount in the same snapshot. Nothing may deadlock, no
# position may be off, and afterwards every counter equals a recount. Needs
# committed data and several sessions, so it runs outside pgTAP, in a scratch
# database that this script recreates (scripts/dev-sql): never point it at a
# real one.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/tokens_expire/concurrency.sh [DBNAME]  (default q_blocks)
# Prints TAP; exit status 1 when a check fails.
set -euo pipefail
db=${1:-q_blocks}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..7"

# One concert, a line of 30 000 (blocks 0 .. 29). A quarter of it stops
# polling at times spread over the run (idle from 0 to 12 s in), so the sweep
# has work all along. ACTIVE tokens last 2 s and the cap is 1 000, so the
# admissions move the watermark through several blocks.
q <<SQL
select api.setting_set('active_token_seconds', '2');
select api.setting_set('queue_active_cap', '1000');
insert into app.concerts (title, venue) values ('blocks', 'Hall');
select tests.long_line(1, 1, 30000) \g /dev/null
update app.queue_tickets set last_seen_at = now() - interval '300 seconds' + (queue_no % 13) * interval '1 second'
where queue_no % 4 = 0;
-- a leave that may find its ticket gone already (left, expired, admitted and expired)
create function public.try_leave(no bigint) returns void language plpgsql as \$\$
begin
  perform api.queue_leave((select t.token from app.queue_tickets t where t.concert_id = 1 and t.queue_no = try_leave.no));
exception when sqlstate 'CR302' then
  null;
end
\$\$;
SQL
deadlocks_before=$(q -c "select deadlocks from pg_stat_database where datname = current_database()")

cat > "$tmp/leave.sql" <<'SQL'
\set no random(1, 30000)
select public.try_leave(:no);
SQL
cat > "$tmp/rejoin.sql" <<'SQL'
\set no random(1, 30000)
select api.queue_join(t.user_id, 1) from app.queue_tickets t where t.concert_id = 1 and t.queue_no = :no;
SQL
cat > "$tmp/expire.sql" <<'SQL'
select api.tokens_expire();
SQL
cat > "$tmp/admit.sql" <<'SQL'
select api.queue_admit();
SQL
# The position app.ticket_json gives and a recount over the line, in one
# statement (one snapshot): division by zero when they differ.
cat > "$tmp/check.sql" <<'SQL'
\set no random(1, 30000)
select 1 / ((app.ticket_json(t) ->> 'position')::bigint
            = 1 + (select count(*) from app.queue_tickets w
                   where w.concert_id = 1 and w.status = 'WAITING' and w.queue_no < t.queue_no))::integer
from app.queue_tickets t where t.concert_id = 1 and t.queue_no = :no and t.status = 'WAITING';
SQL
pgbench -n -d "$db" -c 6 -j 6 -T 12 -f "$tmp/leave.sql@6" -f "$tmp/rejoin.sql@2" -f "$tmp/expire.sql@1" \
  -f "$tmp/admit.sql@1" -f "$tmp/check.sql@2" > "$tmp/bench" 2>&1 &
bench=$!
# 3 s in, a session holds the line's group counter (every departure of the
# run adds to it) for 1.5 s: the run meets contention, whatever it met by
# itself, and goes on from there
( sleep 3
  q -c 'begin' -c "select 1 from app.queue_blocks where concert_id = 1 and block_size = 32768 and block_no = 0 for update" \
    -c 'select pg_sleep(1.5)' -c 'commit' > "$tmp/held" ) &
most=$(most_lock_waiters "$bench")
if wait "$bench" && ! grep -qE 'number of failed transactions: [1-9]' "$tmp/bench"; then
  check "leaves, rejoins, sweeps, admissions and exact-position checks at once: no client failed" ok ok
else
  check "leaves, rejoins, sweeps, admissions and exact-position checks at once: no client failed" "$(tail -8 "$tmp/bench")" ok
fi
check "the sessions did contend: with the line's group counter held mid-run, up to $most waited on a lock at once" \
  "$(sed -n 1p "$tmp/held") $((most > 0))" "1 1"
check "no deadlock" "$(q -c "select deadlocks - $deadlocks_before from pg_stat_database where datname = current_database()")" 0
check "every counter a position may read equals a recount (api.audit)" \
  "$(q -c "select count(*) from api.audit() where invariant = 'queue_block_departed'")" 0
check "the sweeps and leaves did count departures" \
  "$(q -c "select (select sum(departed) from app.queue_blocks where block_size = 32768) > 1000")" t
check "the admissions moved the watermark past blocks" \
  "$(q -c "select admitted_upto > 2048 from app.queues where concert_id = 1")" t
check "afterwards every WAITING ticket's position equals a recount" \
  "$(q -c "select count(*) from (select t, row_number() over (order by t.queue_no) as recount
                                 from app.queue_tickets t where t.concert_id = 1 and t.status = 'WAITING') x
           where (app.ticket_json(x.t) ->> 'position')::bigint <> x.recount")" 0
echo "# $(grep -E 'number of transactions actually processed' "$tmp/bench")"
echo "# watermark $(q -c "select admitted_upto from app.queues where concert_id = 1"), departures counted past it $(q -c "select coalesce(sum(departed), 0) from app.queue_blocks b join app.queues q using (concert_id) where b.block_size = 1024 and b.block_no > q.admitted_upto / 1024")"
exit $failed
