#!/usr/bin/env bash
# Benchmark: does api.queue_status (a poll: the token gate, the throttled
# "still here" write, the position and the wait estimate) cost the same with
# 1 000 and with 1 000 000 WAITING tickets in a concert's line?
#
# Recreates database $1 (default q_bench) with sql/ applied (scripts/dev-sql),
# loads 1 000 WAITING tickets into concert 1 set-based (generate_series, users
# too) and measures; grows that line to 1 000 000 and measures again. Each
# measurement is ROUNDS runs of `pgbench -n -c C -T SECONDS` for C = 1 and 2,
# alternating; the median latency comes from pgbench's per-transaction log
# (--log) over all runs of a configuration. Then a cross-check that takes
# machine noise out of the comparison: a second concert with a 1 000-ticket
# line in the same (now large) table, polled in runs alternating with the
# 1 000 000-ticket line.
# Then departures: 1 % and then 10 % of the 1 000 000 line stop polling,
# spread through it (never the polled tickets), and api.tokens_expire sweeps
# them out in runs of 10 000 (timed: the mass expiry, counters included);
# each state is polled in runs alternating with the 1 000-ticket line of
# concert 2, as in the cross-check.
# The 1M/1k ratios of the medians must stay under 2: exit status 1 otherwise.
# Takes about 1 + 10 * ROUNDS * SECONDS / 60 minutes (6 with the defaults).
# Usage: PGHOST=... PGPORT=... PGUSER=postgres bench/queue_position/run.sh [DBNAME [SECONDS [ROUNDS]]]
set -euo pipefail
db=${1:-q_bench}
secs=${2:-10}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

"$root/scripts/dev-sql" "$db" >/dev/null

q <<'SQL'
insert into app.concerts (title, venue) values ('bench 1', 'Hall'), ('bench 2', 'Hall');
insert into app.queues (concert_id) values (1), (2);
-- The tickets the clients poll: 1 000 per concert, spread evenly over its
-- line (all of them for a 1 000-ticket line), so that both sizes poll the
-- same number of distinct tickets, from the front of the line to its back.
create table public.bench_tokens (
  concert_id bigint not null,
  i integer not null,
  token uuid not null,
  primary key (concert_id, i));
SQL

# grow CONCERT N: make concert CONCERT's line N WAITING tickets long, with a
# new user for each new ticket.
grow() {
  local concert=$1 n=$2
  q <<SQL
\set concert $concert
\set n $n
create temp table new_users as
with u as (
  insert into app.users (name)
  select 'bench ' || g
  from generate_series((select coalesce(max(queue_no), 0) + 1 from app.queue_tickets where concert_id = :concert), :n) g
  returning user_id)
select user_id from u;
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
select :concert, (select coalesce(max(queue_no), 0) from app.queue_tickets where concert_id = :concert)
                 + row_number() over (order by u.user_id), u.user_id, 'WAITING', now(), now()
from new_users u;
-- loaded past the API: the sequence and the closed part of the line move past
-- them, and the concert's arrival counters are written as admission writes them
select setval('app.queue_tickets_queue_no_seq', greatest(:n, (select last_value from app.queue_tickets_queue_no_seq))) \g /dev/null
update app.queue_line set closed_below = greatest(closed_below, :n + 1);
select app.queue_count(:concert, (select l.closed_below from app.queue_line l)) \g /dev/null
delete from public.bench_tokens where concert_id = :concert;
insert into public.bench_tokens (concert_id, i, token)
select :concert, row_number() over (order by t.queue_no), t.token
from app.queue_tickets t
where t.concert_id = :concert and t.queue_no % (:n / 1000) = 0;
SQL
  q -c 'vacuum analyze app.users' -c 'vacuum analyze app.queue_tickets' -c 'vacuum analyze app.queues' -c 'analyze public.bench_tokens'
}

cat > "$work/poll.sql" <<'SQL'
\set i random(1, 1000)
select api.queue_status((select b.token from public.bench_tokens b where b.concert_id = :concert and b.i = :i));
SQL

# run CONFIG CONCERT CLIENTS: one pgbench run, its log kept under $work/CONFIG.
run() {
  local config=$1 concert=$2 clients=$3
  # The polled tickets were "seen" just now, as for users who keep polling:
  # the throttle then makes their polls read-only (one write per ticket per 30 s).
  q -c "update app.queue_tickets t set last_seen_at = now() from public.bench_tokens b where t.token = b.token"
  mkdir -p "$work/$config"
  (cd "$work/$config" && pgbench -n -c "$clients" -j "$clients" -T "$secs" -D concert="$concert" \
     -f "$work/poll.sql" --log --log-prefix="poll$(ls | wc -l)" -d "$db" > /dev/null 2>&1)
}

# median CONFIG: median latency in ms over all transactions of CONFIG, and tps.
median() {
  local config=$1
  cat "$work/$config"/poll* | awk '{ print $3 }' | sort -n \
    | awk -v secs="$secs" -v runs="$rounds" '
        { v[NR] = $1 }
        END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.3f %d %.0f\n", m / 1000, NR, NR / (secs * runs) }'
}

# The departures between the watermark and ticket 999 000 of concert 1, as
# app.queue_departed counts them (its statement for two ends in different
# groups, PL/pgSQL's locals written out), and, for comparison, as the
# position counted them before the counters (every departure ahead on the
# partial index).
explain_position() {
  q <<'SQL'
select admitted_upto as w from app.queues where concert_id = 1 \gset
explain (analyze, buffers, costs off, timing off)
select (select count(*) from app.queue_tickets d
        where d.concert_id = 1 and d.queue_no > :w and d.queue_no < (:w / 1024 + 1) * 1024
          and d.activated_at is null and d.status <> 'WAITING')
     + (select count(*) from app.queue_tickets d
        where d.concert_id = 1 and d.queue_no >= 999000 / 1024 * 1024 and d.queue_no < 999000
          and d.activated_at is null and d.status <> 'WAITING')
     + (select coalesce(sum(b.departed), 0)::bigint from app.queue_blocks b
        where b.concert_id = 1 and b.block_size = 1024
          and b.block_no > :w / 1024 and b.block_no < least(999000 / 1024, (:w / 32768 + 1) * 32))
     + (select coalesce(sum(b.departed), 0)::bigint from app.queue_blocks b
        where b.concert_id = 1 and b.block_size = 1024
          and b.block_no >= greatest(999000 / 32768, :w / 32768 + 1) * 32 and b.block_no < 999000 / 1024)
     + (select coalesce(sum(b.departed), 0)::bigint from app.queue_blocks b
        where b.concert_id = 1 and b.block_size = 32768
          and b.block_no > :w / 32768 and b.block_no < 999000 / 32768);
SQL
}
explain_old_count() {
  q <<'SQL'
explain (analyze, buffers, costs off, timing off)
select count(*) from app.queue_tickets d, app.queues q
where q.concert_id = 1 and d.concert_id = 1 and d.queue_no > q.admitted_upto and d.queue_no < 999000
  and d.activated_at is null and d.status <> 'WAITING';
SQL
}

# depart RESIDUES: the tickets of concert 1 whose queue_no % 100 is one of
# RESIDUES (none is 0, so no polled ticket) stop polling; api.tokens_expire
# runs until it finds none. Prints the number expired, the runs and the
# seconds they took.
depart() {
  q -c "update app.queue_tickets set last_seen_at = now() - interval '1 hour'
        where concert_id = 1 and status = 'WAITING' and queue_no % 100 in ($1)"
  local total=0 runs=0 got start end
  start=$(date +%s.%N)
  while got=$(q -c 'select api.tokens_expire()') && [ "$got" -gt 0 ]; do
    total=$((total + got)); runs=$((runs + 1))
  done
  end=$(date +%s.%N)
  q -c 'vacuum analyze app.queue_tickets' -c 'vacuum analyze app.queue_blocks'
  echo "$total $runs $(echo "$end - $start" | bc)"
}

ratio() { echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
grow 1 1000
for r in $(seq "$rounds"); do run k1c1 1 1; run k1c2 1 2; done
t1=$(date +%s)
grow 1 1000000
t2=$(date +%s)
for r in $(seq "$rounds"); do run m1c1 1 1; run m1c2 1 2; done
grow 2 1000
for r in $(seq "$rounds"); do run xkc1 2 1; run xmc1 1 1; done
echo "load average after the first part: $(cut -d' ' -f1-3 /proc/loadavg)"

read -r k1 k1n k1t < <(median k1c1)
read -r k2 k2n k2t < <(median k1c2)
read -r m1 m1n m1t < <(median m1c1)
read -r m2 m2n m2t < <(median m1c2)
read -r xk xkn xkt < <(median xkc1)
read -r xm xmn xmt < <(median xmc1)
r1=$(ratio "$m1" "$k1"); r2=$(ratio "$m2" "$k2"); rx=$(ratio "$xm" "$xk")

echo
echo "api.queue_status, median latency per poll: $rounds runs of pgbench -n -T $secs per row, per-transaction logs"
echo
echo "| line (WAITING tickets) | table rows | clients | median ms | polls | polls/s |"
echo "|---|---|---|---|---|---|"
echo "| 1 000 | 1 000 | 1 | $k1 | $k1n | $k1t |"
echo "| 1 000 | 1 000 | 2 | $k2 | $k2n | $k2t |"
echo "| 1 000 000 | 1 000 000 | 1 | $m1 | $m1n | $m1t |"
echo "| 1 000 000 | 1 000 000 | 2 | $m2 | $m2n | $m2t |"
echo "| cross-check: 1 000 | 1 001 000 | 1 | $xk | $xkn | $xkt |"
echo "| cross-check: 1 000 000 | 1 001 000 | 1 | $xm | $xmn | $xmt |"
echo
echo "ratio 1M/1k of the medians: $r1 (1 client), $r2 (2 clients), $rx (cross-check, alternating runs); must be < 2"
echo "growing the line from 1 000 to 1 000 000 (users, tickets, vacuum analyze): $((t2 - t1)) s"

echo
echo "EXPLAIN (ANALYZE, BUFFERS) of the departures between the watermark and ticket 999 000 of the 1 000 000 line"
echo "(none yet), app.queue_departed's statement:"
explain_position
echo
echo "The jobs with 1 001 000 WAITING tickets (in a transaction, rolled back): admission twice, then the sweep"
q <<'SQL'
\timing on
begin;
select api.queue_admit();
select api.queue_admit();
select api.tokens_expire();
rollback;
SQL

# Departures spread through the 1 000 000 line, swept out by api.tokens_expire
# (which counts them in app.queue_blocks): 1 %, then 10 % in all.
read -r e1 e1r e1s < <(depart 7)
for r in $(seq "$rounds"); do run d1kc1 2 1; run d1mc1 1 1; done
echo
echo "With 1 % of the 1 000 000 line departed ($e1 idle tickets spread over it, expired by $e1r runs of api.tokens_expire in $e1s s):"
echo "EXPLAIN (ANALYZE, BUFFERS) of the departures between the watermark and ticket 999 000, app.queue_departed's statement:"
explain_position
read -r e10 e10r e10s < <(depart '13, 23, 33, 43, 53, 63, 73, 83, 93')
for r in $(seq "$rounds"); do run d10kc1 2 1; run d10mc1 1 1; done
echo
echo "With 10 % departed ($e10 more expired by $e10r runs in $e10s s):"
echo "EXPLAIN (ANALYZE, BUFFERS) of app.queue_departed's statement for ticket 999 000:"
explain_position
echo "and of the count the position made before the counters (every departure ahead):"
explain_old_count

read -r d1k d1kn d1kt < <(median d1kc1)
read -r d1m d1mn d1mt < <(median d1mc1)
read -r d10k d10kn d10kt < <(median d10kc1)
read -r d10m d10mn d10mt < <(median d10mc1)
rd1=$(ratio "$d1m" "$d1k"); rd10=$(ratio "$d10m" "$d10k")
echo
echo "api.queue_status with departures, 1 client, runs alternating between the two lines:"
echo
echo "| line (WAITING tickets) | departed | median ms | polls | polls/s | vs the 1 000 line in the same runs | vs the first 1 000 line |"
echo "|---|---|---|---|---|---|---|"
echo "| 1 000 (concert 2) | 0 | $d1k | $d1kn | $d1kt | | $(ratio "$d1k" "$k1") |"
echo "| 990 000 | 10 000 (1 %) | $d1m | $d1mn | $d1mt | $rd1 | $(ratio "$d1m" "$k1") |"
echo "| 1 000 (concert 2) | 0 | $d10k | $d10kn | $d10kt | | $(ratio "$d10k" "$k1") |"
echo "| 900 000 | 100 000 (10 %) | $d10m | $d10mn | $d10mt | $rd10 | $(ratio "$d10m" "$k1") |"
echo
echo "the sweeps: $e1 tickets in $e1r runs, $e1s s; $e10 in $e10r runs, $e10s s (api.tokens_expire, counters included)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

exit "$(echo "$r1 >= 2 || $r2 >= 2 || $rx >= 2 || $rd1 >= 2 || $rd10 >= 2" | bc)"
