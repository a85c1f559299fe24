-- Payments: pay for a held seat, list the payments of a user (POST /api/payments,
-- GET /api/payments).

-- The Payment JSON of the API: a payment and its reservation (for dateId, seatNo).
create or replace function app.payment_json(payment app.payments, reservation app.reservations)
returns jsonb
language plpgsql
immutable
security invoker
set search_path = ''
as $$
begin
  return jsonb_build_object(
    'paymentId', (payment_json.payment).payment_id,
    'reservationId', (payment_json.payment).reservation_id,
    'userId', (payment_json.payment).user_id,
    'concertId', (payment_json.payment).concert_id,
    'dateId', (payment_json.reservation).date_id,
    'seatNo', (payment_json.reservation).seat_no,
    'amount', (payment_json.payment).amount,
    'status', (payment_json.payment).status,
    'paidAt', app.iso((payment_json.payment).paid_at));
end
$$;

comment on function app.payment_json(app.payments, app.reservations) is
'The Payment JSON of the API: {"paymentId", "reservationId", "userId", "concertId", "dateId", "seatNo", "amount", "status", "paidAt"}.';

revoke execute on function app.payment_json(app.payments, app.reservations) from public;


-- Check order (the API's order of errors: 400, then token 401/410/403, then 404, then the rule):
--   1. reservation_id missing: CR001.
--   2. Idempotency-Key given: app.idempotency_claim (CR300, CR301 only);
--      a stored answer is returned as it is, even when the token has since been
--      used up by this very payment (CR001 malformed key). A key reused with
--      another request is CR204 (a 409), raised after the checks of 4 and 5.
--   3. The reservation is read, unlocked and without raising, for its concert.
--   4. app.ticket_gate(token, that concert, need_active): CR301 unknown, CR302
--      not live, CR304 another concert's token, CR303 still waiting. For an
--      unknown reservation the concert is null, so an unknown, dead or waiting
--      token still wins over the 404. Then app.ticket_user_check: CR304.
--   5. CR104 the reservation does not exist; CR304 it is another user's.
--   6. Write first: one conditional UPDATE ... RETURNING each for the seat
--      (HELD by this reservation and user, hold not lapsed), the balance (at
--      least the price) and the reservation (HELD, not expired). The seat
--      comes first, as in the seat functions, so no lock cycle can form
--      (charges lock the user's row only). Only when one updates nothing does
--      app.payment_refusal look for the reason, in the API's order (409,
--      402, 410): CR202 PAID or CANCELLED; CR401 the balance is below the
--      price; CR205 EXPIRED, or the hold has lapsed, or the seat is no longer
--      held by this reservation. Every error rolls back everything.
--
-- Why this shape (SERIALIZABLE, docs/onsale.md): SSI locks the B-tree pages a
-- transaction reads, and an index entry written into such a page by another
-- payment is a read-write conflict; two of those in opposite directions abort
-- one payment. So a payment reads no page that another payment writes into:
-- the reservation's HELD -> PAID is a HOT update (the unique index of live
-- reservations keys on the generated column live, which stays true; the
-- table's fillfactor leaves room), the balance is a HOT update, and the seat
-- is found through seats_date_id_seat_no_idx (status <> 'SOLD'), which a SOLD
-- seat leaves: its new version goes into seats_pkey only, which no payment
-- reads. The token is found on queue_tickets_active_token_idx, which a USED
-- ticket leaves (its new version goes into queue_tickets_pkey, which no
-- payment reads), and the stored Idempotency-Key is written by an upsert,
-- whose dirty-snapshot probe locks nothing (app.idempotency_finish). Polls
-- never write an ACTIVE ticket, so the token's USED update meets no
-- concurrent write. sql/tests/payment_create/interleaved.sh shows it.
-- Business conflicts never raise 40001: that SQLSTATE is left to PostgreSQL,
-- and the server retries the whole SERIALIZABLE transaction on it.
create or replace function app.payment_refusal(reservation_id bigint, user_id bigint, at timestamptz, balance_debited boolean)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_reservation app.reservations;
  v_balance bigint;
begin
  select * into strict v_reservation
  from app.reservations r where r.reservation_id = payment_refusal.reservation_id;
  if v_reservation.status in ('PAID', 'CANCELLED') then
    raise exception using errcode = 'CR202', message = 'reservation not payable',
      detail = 'reservation ' || v_reservation.reservation_id || ' is ' || lower(v_reservation.status);
  end if;
  select u.balance into v_balance from app.users u where u.user_id = payment_refusal.user_id;
  if not payment_refusal.balance_debited and v_balance < v_reservation.price then
    raise exception using errcode = 'CR401', message = 'insufficient balance',
      detail = 'the price is ' || v_reservation.price || ', more than the balance of ' || v_balance;
  end if;
  if v_reservation.status = 'EXPIRED' or v_reservation.expires_at <= payment_refusal.at then
    raise exception using errcode = 'CR205', message = 'hold expired',
      detail = 'the hold of reservation ' || v_reservation.reservation_id || ' ended at '
        || app.iso(v_reservation.expires_at);
  end if;
  raise exception using errcode = 'CR205', message = 'hold expired',
    detail = 'seat ' || v_reservation.seat_no || ' on date ' || v_reservation.date_id
      || ' is no longer held by reservation ' || v_reservation.reservation_id;
end
$$;

comment on function app.payment_refusal(bigint, bigint, timestamptz, boolean) is
'Raises why the payment of reservation_id by user_id at at cannot go through, in the API''s order: CR202 paid
or cancelled, CR401 balance below the price (unless balance_debited: this payment took it already), CR205 hold
expired or lost. Called once a payment''s conditional update changed nothing.';

create or replace function app.payment_create(
  token uuid,
  reservation_id bigint,
  user_id bigint default null,
  idempotency_key text default null,
  at timestamptz default now())
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
-- SSI locks what a scan reads: a sequential scan locks the whole table, and
-- so does a range scan that reads many rows (tuple locks are promoted), and
-- then every other payment's write there is a conflict. Small or freshly
-- loaded tables (an on-sale's payments, reservations) tempt the planner into
-- exactly that, the foreign key checks of the inserts below included; every
-- statement here finds its row by a key, so index scans cost nothing extra.
set enable_seqscan = off
set jit = off
as $$
declare
  v_user_id bigint;
  v_stored jsonb;
  v_reused boolean := false;
  v_ticket app.queue_tickets;
  v_reservation app.reservations;
  v_balance bigint;
  v_payment app.payments;
  v_body jsonb;
  v_event_id bigint;
  v_live boolean;
begin
  if payment_create.reservation_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'reservationId is required';
  end if;

  -- A replay is answered before any other check, the token's included.
  if payment_create.idempotency_key is not null then
    select c.response, c.reused into v_stored, v_reused
    from app.idempotency_claim(payment_create.token, payment_create.idempotency_key,
      'payment_create:' || payment_create.reservation_id, payment_create.user_id) c;
    if v_stored is not null then
      return v_stored;
    end if;
  end if;

  select * into v_reservation
  from app.reservations r where r.reservation_id = payment_create.reservation_id;

  v_ticket := app.ticket_gate(payment_create.token, v_reservation.concert_id, true, payment_create.at);
  perform app.ticket_user_check(v_ticket, payment_create.user_id);
  v_user_id := v_ticket.user_id;

  perform app.reservation_owner_check(v_reservation, payment_create.reservation_id, v_user_id);
  perform app.idempotency_reused_check(v_reused);

  -- The seat: sold if this reservation still holds it. status <> 'SOLD'
  -- puts the scan on seats_date_id_seat_no_idx (see above). No status =
  -- 'HELD' and no hold expiry in the WHERE: either would let a plan read
  -- seats_hold_expires_at_idx (WHERE status = 'HELD') whole, every held
  -- seat, and a generic plan made while the statistics knew of no held seat
  -- (an on-sale's first minute) did exactly that; its SSI locks on every
  -- held seat were promoted to a lock on the whole table, and nearly every
  -- other payment failed with 40001. HELD is implied: seats_holder_check
  -- gives a seat that is not SOLD and has a reservation_id status HELD. The
  -- expiry is checked on the row returned.
  update app.seats s
  set status = 'SOLD',
      -- a lapsed hold keeps its time, so the row returned tells (and the
      -- refusal below rolls the update back)
      hold_expires_at = case when s.hold_expires_at > payment_create.at then null else s.hold_expires_at end
  where s.date_id = v_reservation.date_id and s.seat_no = v_reservation.seat_no
    and s.status <> 'SOLD'
    and s.reservation_id = v_reservation.reservation_id and s.user_id = v_user_id
  returning s.hold_expires_at is null into v_live;
  if not found or not v_live then
    perform app.payment_refusal(v_reservation.reservation_id, v_user_id, payment_create.at, false);
  end if;

  -- users_balance_check stands behind the condition.
  update app.users u
  set balance = u.balance - v_reservation.price
  where u.user_id = v_user_id and u.balance >= v_reservation.price
  returning u.balance into v_balance;
  if not found then
    perform app.payment_refusal(v_reservation.reservation_id, v_user_id, payment_create.at, false);
  end if;

  update app.reservations r
  set status = 'PAID', ended_at = payment_create.at
  where r.reservation_id = v_reservation.reservation_id
    and r.status = 'HELD' and r.expires_at > payment_create.at
  returning * into v_reservation;
  if not found then
    perform app.payment_refusal(payment_create.reservation_id, v_user_id, payment_create.at, true);
  end if;

  insert into app.payments (reservation_id, user_id, concert_id, amount, paid_at)
  values (v_reservation.reservation_id, v_user_id, v_reservation.concert_id, v_reservation.price, payment_create.at)
  returning * into v_payment;

  insert into app.ledger (user_id, kind, amount, balance_after, payment_id, created_at)
  values (v_user_id, 'PAYMENT', -v_payment.amount, v_balance, v_payment.payment_id, payment_create.at);

  v_body := app.payment_json(v_payment, v_reservation);

  v_event_id := app.outbox_add('payment.completed', v_user_id, v_reservation.reservation_id, v_body);
  perform pg_notify('boxoffice_outbox', v_event_id::text);

  -- The token is used up: the user joins the queue again for another purchase.
  -- Only while it is still ACTIVE: a token paid with twice at once (in READ
  -- COMMITTED, from psql) pays once; the second payment rolls back whole.
  -- The row is found on queue_tickets_active_token_idx, where no other
  -- payment's USED version goes, not on queue_tickets_pkey, where each does
  -- (sql/indexes/queue_tickets_active_token_idx.sql).
  update app.queue_tickets t
  set status = 'USED', ended_at = payment_create.at
  where t.token = v_ticket.token and t.status = 'ACTIVE' and t.ended_at is null;
  if not found then
    raise exception using errcode = 'CR302', message = 'token expired',
      detail = 'the token was used up by another payment';
  end if;

  perform app.idempotency_finish(v_user_id, payment_create.idempotency_key, 201, v_body);
  return v_body;
end
$$;

comment on function app.payment_create(uuid, bigint, bigint, text, timestamptz) is
'api.payment_create with its clock: pays at at (tests move time through here).';

drop function if exists api.payment_create(uuid, bigint, bigint, text, timestamptz);

create or replace function api.payment_create(
  token uuid,
  reservation_id bigint,
  user_id bigint default null,
  idempotency_key text default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return app.payment_create(payment_create.token, payment_create.reservation_id, payment_create.user_id,
                            payment_create.idempotency_key, now());
end
$$;

comment on function api.payment_create(uuid, bigint, bigint, text) is
'Pays for a held seat from the balance (POST /api/payments, 201). Run it in a SERIALIZABLE transaction
and retry on 40001/40P01. In one go: debits the price, marks the seat SOLD and the reservation PAID,
writes the payment, a PAYMENT ledger row and a payment.completed outbox event (NOTIFY boxoffice_outbox),
and uses up the token. Writes first (conditional updates) and reads no B-tree page another payment writes
into, so payments of neighbouring seats rarely abort each other.
Parameters: token, an ACTIVE queue token of the reservation''s concert; reservation_id; user_id, optional,
must be the token''s user; idempotency_key, optional Idempotency-Key (a repeat returns the first 201,
before any other check, even after the token was used up).
Result: {"paymentId", "reservationId", "userId", "concertId", "dateId", "seatNo", "amount", "status": "COMPLETED", "paidAt"}.
Errors: CR001 reservation_id missing or malformed key, CR301 unknown token, CR302 token no longer live,
CR304 token of another concert or user, or reservation of another user, CR303 token still waiting,
CR104 no such reservation, CR202 reservation paid or cancelled, CR401 balance below the price,
CR205 hold expired or lost (in that order when several apply), CR204 key reused with another request.';

revoke execute on function api.payment_create(uuid, bigint, bigint, text) from public;
grant execute on function api.payment_create(uuid, bigint, bigint, text) to boxoffice_api;


drop function if exists api.payment_list(uuid, timestamptz);

create or replace function api.payment_list(token uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_ticket app.queue_tickets;
  v_payments jsonb;
begin
  v_ticket := app.ticket_gate(payment_list.token, null, false, now());

  -- payments_user_id_payment_id_idx: an index scan of the user's payments only
  select coalesce(jsonb_agg(app.payment_json(p, r) order by p.payment_id desc), '[]'::jsonb)
  into v_payments
  from app.payments p
  join app.reservations r on r.reservation_id = p.reservation_id
  where p.user_id = v_ticket.user_id;

  return jsonb_build_object('payments', v_payments);
end
$$;

comment on function api.payment_list(uuid) is
'The payments of the token''s user, newest first (GET /api/payments).
Parameters: token, any live queue token (of any concert).
Result: {"payments": [{"paymentId", "reservationId", "userId", "concertId", "dateId", "seatNo", "amount", "status", "paidAt"}]}.
Errors: CR301 unknown token, CR302 token no longer live.';

revoke execute on function api.payment_list(uuid) from public;
grant execute on function api.payment_list(uuid) to boxoffice_api;
