#!/usr/bin/env bash
# Three payments of neighbouring seats at once, in SERIALIZABLE and called
# as the server calls them (user_id and an Idempotency-Key): A pays and holds
# its transaction open, B pays and holds its transaction open, C pays and
# commits, then B and A commit. All three must commit. With three fans in a
# line their tokens, users, reservations and keys share one B-tree leaf page
# each. A payment that reads a page the others write into (the token on
# queue_tickets_pkey, where a USED version goes; the stored key on
# idempotency_keys_pkey, where every claim goes) makes A -> B -> C a chain of
# read/write conflicts with C committed first, and B failed at its commit
# with 40001, every time: this check fails on such a payment, not by chance.
# Usage: PGHOST=... PGPORT=... PGUSER=postgres sql/tests/payment_create/interleaved.sh [DBNAME]  (default pay_conc)
set -euo pipefail
db=${1:-pay_conc}
cd "$(dirname "$0")/../../.."
source sql/testing/sessions.sh
echo "1..4"

# Three fans of one concert, admitted, charged, each holding a seat of one date.
fans 3 Interleaved
q >/dev/null <<'SQL'
alter table public.fan add column reservation_id bigint;
update public.fan f set reservation_id = (
  select (h.body ->> 'reservationId')::bigint
  from app.concerts c join app.concert_dates d using (concert_id)
  cross join lateral api.seat_hold(f.token, c.concert_id, d.date_id, f.n::integer) h
  where c.title = 'Interleaved');
SQL
pay() { echo "select api.payment_create(token, reservation_id, user_id, 'pay-$1') ->> 'status' from public.fan where n = $1"; }

# the query: are exactly $1 sessions in their pg_sleep (done paying, not committed)?
sleeping() { echo "select count(*) = $1 from pg_stat_activity where datname = current_database()
                   and query like 'select pg_sleep(%' and state = 'active'"; }
answers() { grep -v '^$' "$1" | paste -sd ' '; }
# A and B, each held open after it paid (A for 4 s, B for 3 s).
q -c 'begin isolation level serializable' -c "$(pay 1)" -c 'select pg_sleep(4)' -c 'commit' > "$tmp/a" 2>&1 &
a_paid=$(until_true "$(sleeping 1)")
q -c 'begin isolation level serializable' -c "$(pay 2)" -c 'select pg_sleep(3)' -c 'commit' > "$tmp/b" 2>&1 &
b_paid=$(until_true "$(sleeping 2)")
q -c 'begin isolation level serializable' -c "$(pay 3)" -c 'commit' > "$tmp/c" 2>&1 || true
open=$(q -c "$(sleeping 2)")
wait
check "A had paid, uncommitted, when B began; both had when C began" "$a_paid $b_paid" "t t"
check "A and B were still open when C committed" "$open" t
check "all three payments committed (A, B, C)" "$(answers "$tmp/a") | $(answers "$tmp/b") | $(answers "$tmp/c")" \
  "COMPLETED | COMPLETED | COMPLETED"
check "three payments, three seats SOLD, the audit clean" \
  "$(q -c "select count(*) from app.payments") $(q -c "select count(*) from app.seats where status = 'SOLD'") $(q -c 'select count(*) from api.audit()')" \
  "3 3 0"
exit $failed
