#!/usr/bin/env bash
# The on-sale hot path through pgbench, for one sql/ tree against another on
# the same cluster: joins into ONE concert (new users each), and payments of
# neighbouring seats in SERIALIZABLE (how many needed a retry).
# Usage: PGHOST=... PGPORT=... PGUSER=postgres bench/hotpath/run.sh SQL_TREE_ROOT [LABEL]
#   SQL_TREE_ROOT: a checkout whose scripts/dev-sql builds the database
#   (this one, or a worktree of an older commit).
# Env: CLIENTS (8), SECONDS_JOIN (15), PAYMENTS (2000)
# Payments run with --max-tries 1: a payment that fails with 40001 is counted
# as failed (it would have been retried), so the failed share is the share of
# payments that needed a retry. (With --max-tries 10, pgbench 15 reported
# retried payments as done that had not paid, on both trees alike.)
set -euo pipefail
tree=${1:?sql tree}; label=${2:-$(basename "$tree")}
clients=${CLIENTS:-8}; seconds=${SECONDS_JOIN:-15}; payments=${PAYMENTS:-2000}
db=hotpath_$$
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; [ -n "${KEEP:-}" ] || psql -X -q -d postgres -c "drop database if exists $db" >/dev/null 2>&1 || true' EXIT
(cd "$tree" && scripts/dev-sql "$db" >/dev/null 2>&1)
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
per=$((payments / clients))
# The policy: rows of app.settings where the tree has them (joins without a
# key need user_keys optional there), session settings in older trees.
if [ -n "$(q -c "select to_regclass('app.settings')")" ]; then
  q >/dev/null -c "select api.setting_set('queue_active_cap', '1000000'), api.setting_set('hold_seconds', '3600'),
                          api.setting_set('active_token_seconds', '3600'), api.setting_set('user_keys', 'optional')"
  policy=""
else
  policy="set boxoffice.queue_active_cap = 1000000; set boxoffice.hold_seconds = 3600; set boxoffice.active_token_seconds = 3600;"
fi
q >/dev/null <<SQL
$policy
create schema bench;
-- joins: a concert of its own, 300 000 fresh users handed out by a sequence
select * from app.seed_concerts(array['Join line', 'Pay'], array['J', 'P'], 40, now());
create table bench.join_users as
with u as (insert into app.users (name) select 'join ' || g from generate_series(1, 300000) g returning user_id)
select min(user_id) as first_id, max(user_id) as last_id from u;
select format('create sequence bench.join_seq minvalue %s start %s maxvalue %s', first_id, first_id, last_id)
from bench.join_users \gexec
-- payments: $payments users, each ACTIVE on the Pay concert, charged, holding
-- a seat; hold n is seat (n - 1) % 50 + 1 of date (n - 1) / 50 + 1, so that
-- the clients pay neighbouring seats at any moment
create table bench.pay_users as
select row_number() over (order by user_id) as n, user_id
from (select (api.user_create('pay ' || g)->>'userId')::bigint as user_id from generate_series(1, $payments) g) u;
create table bench.pay_tokens as
select p.n, p.user_id, (j.body->>'token')::uuid as token
from bench.pay_users p, lateral api.queue_join(p.user_id, (select concert_id from app.concerts where title = 'Pay')) j;
select api.queue_admit();
select api.balance_charge(t.token, 1000000) from bench.pay_tokens t;
create table bench.pay_holds as
select t.n, t.token, (h.body->>'reservationId')::bigint as reservation_id
from bench.pay_tokens t
cross join lateral (select d.date_id from app.concert_dates d
                    where d.concert_id = (select concert_id from app.concerts where title = 'Pay')
                    order by d.date_id offset (t.n - 1) / 50 limit 1) d
cross join lateral api.seat_hold(t.token, (select concert_id from app.concerts where title = 'Pay'), d.date_id, ((t.n - 1) % 50 + 1)::integer) h;
grant usage on schema bench to boxoffice_api;
grant select on all tables in schema bench to boxoffice_api;
grant usage on all sequences in schema bench to boxoffice_api;
vacuum analyze;
SQL
[ -z "${PRE_SQL:-}" ] || q <<<"$PRE_SQL" >/dev/null
join_concert=$(q -c "select concert_id from app.concerts where title = 'Join line'")
held=$(q -c "select count(*) from bench.pay_holds where reservation_id is not null")
cat > "$tmp/join.sql" <<'SQL'
select q.status from api.queue_join(nextval('bench.join_seq'), :join_concert) q;
SQL
cat > "$tmp/pay.sql" <<'SQL'
\set i :i + 1
begin isolation level serializable;
select api.payment_create(p.token, p.reservation_id) from bench.pay_holds p where p.n = (:i - 1) * :clients + :client_id + 1;
commit;
SQL
# The admission job runs every second meanwhile, as the server's scheduler
# runs it (it also closes the line and counts the arrivals of the blocks
# joined since; a position counts the rest on the index).
admit_cmd=$(q -c "select command from app.jobs where name = 'queue_admit'")
# Each run's wall time goes to admit.ms (the run's median and max are reported).
( end=$((SECONDS + seconds + 1)); while [ $SECONDS -lt $end ]; do
    t0=$(date +%s%N); q -c "$admit_cmd" >/dev/null 2>&1 || true; echo $(( ($(date +%s%N) - t0) / 1000000 )) >> "$tmp/admit.ms"
    sleep 1; done ) &
admitter=$!
PGUSER=boxoffice_api pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -D join_concert="$join_concert" -f "$tmp/join.sql" "$db" > "$tmp/join.out" 2>&1 || true
wait "$admitter" || true
PGUSER=boxoffice_api pgbench -n -M prepared -c "$clients" -j 2 -t "$per" --max-tries 1 -D i=0 -D clients="$clients" -f "$tmp/pay.sql" "$db" > "$tmp/pay.out" 2>&1 || true
paid=$(q -c "select count(*) from app.payments")
hot=$(q -c "select string_agg(relname || ' ' || n_tup_hot_upd || '/' || n_tup_upd, ', ' order by relname) from pg_stat_user_tables where schemaname = 'app' and relname in ('users', 'reservations', 'seats', 'queue_tickets')")
audit=$(q -c "select count(*) from api.audit()")
states=$(q -c "select string_agg(s, ', ') from (select r.status || '/' || t.status || ' ' || count(*) as s from bench.pay_holds h join app.reservations r using (reservation_id) join app.queue_tickets t on t.token = h.token group by r.status, t.status) x")
echo "== $label ($(cd "$tree" && git log -1 --format=%h)), $clients clients, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "joins into one concert: $(grep -E '^tps' "$tmp/join.out" | head -1)"
echo "admission runs during the joins (psql round trip included): $(sort -n "$tmp/admit.ms" | awk '{a[NR]=$1} END {printf "%d runs, median %d ms, max %d ms", NR, a[int((NR+1)/2)], a[NR]}')"
echo "payments: $held holds, $paid paid on the first try; $(grep -E 'failed transactions' "$tmp/pay.out")"
echo "payments: $(grep -E "^tps" "$tmp/pay.out" | head -1); audit rows: $audit; reservation/token states: $states"
echo "HOT updates/updates (setup and run): $hot"
