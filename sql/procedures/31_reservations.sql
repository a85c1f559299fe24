-- Reservations: the Reservation JSON, GET /api/reservations/{reservationId}
-- and DELETE /api/reservations/{reservationId}. Holding a seat
-- (POST /api/reservations) is api.seat_hold in 32_seats.sql.
--
-- Lock order, shared with api.seat_hold and api.holds_expire: the seat row
-- first, then its reservation rows. Keeping one order means two of them never
-- deadlock on one seat.

-- The Reservation of the API. A HELD reservation whose hold has lapsed at
-- as_of reads EXPIRED at once, before api.holds_expire marks it so.
create or replace function app.reservation_json(r app.reservations, as_of timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return jsonb_build_object(
    'reservationId', (reservation_json.r).reservation_id,
    'userId', (reservation_json.r).user_id,
    'concertId', (reservation_json.r).concert_id,
    'dateId', (reservation_json.r).date_id,
    'date', (select app.date_text(d.starts_at) from app.concert_dates d
             where d.date_id = (reservation_json.r).date_id),
    'seatNo', (reservation_json.r).seat_no,
    'price', (reservation_json.r).price,
    'status', case when (reservation_json.r).status = 'HELD'
                    and (reservation_json.r).expires_at <= reservation_json.as_of then 'EXPIRED'
                   else (reservation_json.r).status end,
    'expiresAt', app.iso((reservation_json.r).expires_at));
end
$$;

comment on function app.reservation_json(app.reservations, timestamptz) is
'The Reservation JSON of r at as_of: {"reservationId", "userId", "concertId", "dateId", "date", "seatNo", "price",
"status", "expiresAt"}; a HELD reservation past its expires_at reads EXPIRED.';

-- The checks of a route on one reservation, after the token gate: CR104 when
-- no reservation was found for reservation_id (reservation is all null),
-- CR304 when it is not user_id's.
-- No SET clause, as the gate's checks (00_common.sql): it runs on every call
-- of the three.
create or replace function app.reservation_owner_check(reservation app.reservations, reservation_id bigint, user_id bigint)
returns void
language plpgsql
immutable
security invoker
as $$
begin
  if (reservation_owner_check.reservation).reservation_id is null then
    raise exception using errcode = 'CR104', message = 'reservation not found',
      detail = 'no reservation ' || reservation_owner_check.reservation_id || ' exists';
  end if;
  if (reservation_owner_check.reservation).user_id <> reservation_owner_check.user_id then
    raise exception using errcode = 'CR304', message = 'token forbidden',
      detail = 'reservation ' || reservation_owner_check.reservation_id || ' belongs to another user';
  end if;
end
$$;

comment on function app.reservation_owner_check(app.reservations, bigint, bigint) is
'Raises CR104 when reservation (read for reservation_id) is null, CR304 when it belongs to another user than user_id.';

create or replace function app.reservation_get(token uuid, reservation_id bigint, as_of timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(reservation_get.as_of, now());
  v_ticket app.queue_tickets;
  v_reservation app.reservations;
begin
  if reservation_get.reservation_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'reservationId is required';
  end if;
  v_ticket := app.ticket_gate(reservation_get.token, null, false, v_now);
  select * into v_reservation
  from app.reservations r where r.reservation_id = reservation_get.reservation_id;
  perform app.reservation_owner_check(v_reservation, reservation_get.reservation_id, v_ticket.user_id);
  return app.reservation_json(v_reservation, v_now);
end
$$;

comment on function app.reservation_get(uuid, bigint, timestamptz) is
'The rule of api.reservation_get with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
One reservation of the token''s user (GET /api/reservations/{reservationId}).
Parameters: token, any live ticket (WAITING or ACTIVE, of any concert); reservation_id; as_of, the clock (default now()).
Result: Reservation {"reservationId", "userId", "concertId", "dateId", "date", "seatNo", "price", "status", "expiresAt"};
a HELD reservation whose hold has lapsed reads EXPIRED even before api.holds_expire has run.
Errors: CR001 id missing; CR301, CR302 from the token gate; CR104 unknown reservation; CR304 another user''s.';

revoke execute on function app.reservation_get(uuid, bigint, timestamptz) from public;

create or replace function api.reservation_get(
  token uuid,
  reservation_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return app.reservation_get(token => reservation_get.token, reservation_id => reservation_get.reservation_id, as_of => now());
end
$$;

comment on function api.reservation_get(uuid, bigint) is
'One reservation of the token''s user (GET /api/reservations/{reservationId}).
Parameters: token, any live ticket (WAITING or ACTIVE, of any concert); reservation_id.
Result: Reservation {"reservationId", "userId", "concertId", "dateId", "date", "seatNo", "price", "status", "expiresAt"};
a HELD reservation whose hold has lapsed reads EXPIRED even before api.holds_expire has run.
Errors: CR001 id missing; CR301, CR302 from the token gate; CR104 unknown reservation; CR304 another user''s.';

revoke execute on function api.reservation_get(uuid, bigint) from public;
grant execute on function api.reservation_get(uuid, bigint) to boxoffice_api;

create or replace function app.reservation_cancel(token uuid, reservation_id bigint, as_of timestamptz default null)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(reservation_cancel.as_of, now());
  v_ticket app.queue_tickets;
  v_reservation app.reservations;
begin
  if reservation_cancel.reservation_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'reservationId is required';
  end if;
  -- The gate checks the token against the reservation's concert (CR301,
  -- CR302, CR304, CR303 in that order) before an unknown id is reported.
  select * into v_reservation
  from app.reservations r where r.reservation_id = reservation_cancel.reservation_id;
  v_ticket := app.ticket_gate(reservation_cancel.token, v_reservation.concert_id, true, v_now);
  perform app.reservation_owner_check(v_reservation, reservation_cancel.reservation_id, v_ticket.user_id);
  -- Free the seat if it is still held, unlapsed, for this reservation. The
  -- seat's row lock (taken first, as api.seat_hold does) settles a race with a
  -- payment, a takeover or api.holds_expire; on 0 rows, re-read the
  -- reservation for the reason.
  update app.seats s
  set status = 'FREE', user_id = null, reservation_id = null, hold_expires_at = null
  where s.date_id = v_reservation.date_id and s.seat_no = v_reservation.seat_no
    and s.status = 'HELD'
    and s.reservation_id = v_reservation.reservation_id
    and s.hold_expires_at > v_now;
  if found then
    update app.reservations r
    set status = 'CANCELLED', ended_at = v_now
    where r.reservation_id = v_reservation.reservation_id and r.status = 'HELD'
    returning * into v_reservation;
    if found then
      return app.reservation_json(v_reservation, v_now);
    end if;
  end if;
  select * into v_reservation
  from app.reservations r where r.reservation_id = reservation_cancel.reservation_id;
  if v_reservation.status in ('PAID', 'CANCELLED') then
    raise exception using errcode = 'CR202', message = 'reservation not cancellable',
      detail = 'reservation ' || v_reservation.reservation_id || ' is ' || lower(v_reservation.status) || ', not held';
  end if;
  raise exception using errcode = 'CR205', message = 'hold expired',
    detail = 'the hold of reservation ' || v_reservation.reservation_id || ' ended at ' || app.iso(v_reservation.expires_at);
end
$$;

comment on function app.reservation_cancel(uuid, bigint, timestamptz) is
'The rule of api.reservation_cancel with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Cancels a held reservation of the token''s user and frees its seat at once (DELETE /api/reservations/{reservationId}).
Parameters: token, an ACTIVE ticket of the reservation''s concert; reservation_id; as_of, the clock (default now()).
Result: Reservation with status CANCELLED.
Errors: CR001 id missing; CR301, CR302, CR304 (a reservation of another concert), CR303 from the token gate;
CR104 unknown reservation; CR304 another user''s reservation;
CR202 (409) the reservation is PAID or CANCELLED (the API has no better code: RESERVATION_NOT_PAYABLE reads "not
payable", here it means "no longer held");
CR205 (410) the hold has lapsed, whether or not api.holds_expire has marked it EXPIRED yet.';

revoke execute on function app.reservation_cancel(uuid, bigint, timestamptz) from public;

create or replace function api.reservation_cancel(
  token uuid,
  reservation_id bigint)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return app.reservation_cancel(token => reservation_cancel.token, reservation_id => reservation_cancel.reservation_id, as_of => now());
end
$$;

comment on function api.reservation_cancel(uuid, bigint) is
'Cancels a held reservation of the token''s user and frees its seat at once (DELETE /api/reservations/{reservationId}).
Parameters: token, an ACTIVE ticket of the reservation''s concert; reservation_id.
Result: Reservation with status CANCELLED.
Errors: CR001 id missing; CR301, CR302, CR304 (a reservation of another concert), CR303 from the token gate;
CR104 unknown reservation; CR304 another user''s reservation;
CR202 (409) the reservation is PAID or CANCELLED (the API has no better code: RESERVATION_NOT_PAYABLE reads "not
payable", here it means "no longer held");
CR205 (410) the hold has lapsed, whether or not api.holds_expire has marked it EXPIRED yet.';

revoke execute on function api.reservation_cancel(uuid, bigint) from public;
grant execute on function api.reservation_cancel(uuid, bigint) to boxoffice_api;
