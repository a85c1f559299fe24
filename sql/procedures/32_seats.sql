-- Seat holds: POST /api/reservations (api.seat_hold) and the job that tidies
-- lapsed holds (api.holds_expire).
--
-- The seat row is the truth about who may have a seat. A hold is won by one
-- conditional UPDATE of that row, and the row lock it takes is held to the
-- end of the transaction, so the reservation rows written after it cannot
-- race (lock order: seat, then reservations; see 31_reservations.sql).

create or replace function app.seat_hold(
  token uuid,
  concert_id bigint,
  date_id bigint,
  seat_no integer,
  user_id bigint default null,
  idempotency_key text default null,
  as_of timestamptz default null,
  out status integer,
  out body jsonb)
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(seat_hold.as_of, now());
  v_user_id bigint;
  v_ticket app.queue_tickets;
  v_expires_at timestamptz;
  v_old_reservation_id bigint;
  v_reservation_id bigint;
  v_price bigint;
  v_seat app.seats;
  v_reservation app.reservations;
  v_reused boolean := false;
begin
  if seat_hold.concert_id is null or seat_hold.date_id is null or seat_hold.seat_no is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'concertId, dateId and seatNo are required';
  end if;
  if seat_hold.seat_no not between 1 and 50 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'seatNo must be 1 to 50';
  end if;

  -- A replay is answered before any other check, the token's included.
  if seat_hold.idempotency_key is not null then
    select c.status, c.response, c.reused into status, body, v_reused
    from app.idempotency_claim(seat_hold.token, seat_hold.idempotency_key,
      'seat_hold:' || seat_hold.concert_id || ':' || seat_hold.date_id || ':' || seat_hold.seat_no, seat_hold.user_id) c;
    if status is not null then
      return;
    end if;
  end if;

  v_ticket := app.ticket_gate(seat_hold.token, seat_hold.concert_id, true, v_now);
  perform app.ticket_user_check(v_ticket, seat_hold.user_id);
  v_user_id := v_ticket.user_id;

  perform from app.concert_dates d
  where d.date_id = seat_hold.date_id and d.concert_id = seat_hold.concert_id and d.starts_at > v_now;
  if not found then
    raise exception using errcode = 'CR103', message = 'date not found',
      detail = 'concert ' || seat_hold.concert_id || ' has no date ' || seat_hold.date_id || ' still to come';
  end if;
  perform app.idempotency_reused_check(v_reused);

  -- At most max_holds_per_token live holds per token. A token's holds are
  -- its user's live holds at its concert: a hold outlives the token it was
  -- made with (a payment uses the token up, the user's other holds stay
  -- until they lapse) and any ACTIVE token of the user for the concert may
  -- pay it, so a new token starts with them. Holds of one user at one
  -- concert, the set counted here, take turns on a transaction lock of
  -- that pair, so two at once cannot both see room for one more; a hold of
  -- a seat the user already holds is answered below as before (200), limit
  -- or not.
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('hold_limit:' || v_user_id || ':' || seat_hold.concert_id, 0));
  if (select count(*) from app.reservations r
      where r.user_id = v_user_id and r.concert_id = seat_hold.concert_id
        and r.live and r.status = 'HELD' and r.expires_at > v_now
        and (r.date_id, r.seat_no) <> (seat_hold.date_id, seat_hold.seat_no::smallint))
     >= app.setting('max_holds_per_token', 4) then
    raise exception using errcode = 'CR206', message = 'hold limit',
      detail = 'the token''s user already holds ' || app.setting('max_holds_per_token', 4)
        || ' seats of this concert; pay for or cancel one first';
  end if;

  -- The one conditional UPDATE that decides the winner. The CTE locks the seat
  -- only if it is free (FREE, or HELD with a lapsed hold); a concurrent holder
  -- makes it wait, and in READ COMMITTED it then re-checks the condition on
  -- the row as committed, so the loser gets no row. FOR UPDATE also makes
  -- old.reservation_id that of the latest row, not of the statement's snapshot.
  v_expires_at := v_now + make_interval(secs => app.setting('hold_seconds', 300));
  with old as (
    select s.date_id, s.seat_no, s.reservation_id
    from app.seats s
    where s.date_id = seat_hold.date_id and s.seat_no = seat_hold.seat_no
      and (s.status = 'FREE' or (s.status = 'HELD' and s.hold_expires_at <= v_now))
    for update
  )
  update app.seats s
  set status = 'HELD',
      user_id = v_user_id,
      reservation_id = nextval(pg_catalog.pg_get_serial_sequence('app.reservations', 'reservation_id')),
      hold_expires_at = v_expires_at
  from old
  where s.date_id = old.date_id and s.seat_no = old.seat_no
  returning old.reservation_id, s.reservation_id, s.price
  into v_old_reservation_id, v_reservation_id, v_price;

  if found then
    -- A lapsed hold taken over: its reservation ends first, since the unique
    -- index reservations_date_id_seat_no_key allows one HELD or PAID per seat.
    if v_old_reservation_id is not null then
      update app.reservations r
      set status = 'EXPIRED', ended_at = r.expires_at
      where r.reservation_id = v_old_reservation_id and r.status = 'HELD';
    end if;
    insert into app.reservations
      (reservation_id, user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
    overriding system value
    values (v_reservation_id, v_user_id, seat_hold.concert_id, seat_hold.date_id, seat_hold.seat_no,
            v_price, 'HELD', v_now, v_expires_at)
    returning * into v_reservation;
    status := 201;
  else
    -- Lost, or the seat is not free. A new statement sees the winner's commit.
    select * into v_seat
    from app.seats s where s.date_id = seat_hold.date_id and s.seat_no = seat_hold.seat_no;
    if not found then
      raise exception using errcode = 'CR103', message = 'date not found',
        detail = 'date ' || seat_hold.date_id || ' has no seat ' || seat_hold.seat_no;
    end if;
    if v_seat.status = 'HELD' and v_seat.user_id = v_user_id and v_seat.hold_expires_at > v_now then
      -- The user already holds this seat: the same reservation, never a second.
      select * into v_reservation
      from app.reservations r where r.reservation_id = v_seat.reservation_id;
      status := 200;
    else
      raise exception using errcode = 'CR201', message = 'seat taken',
        detail = 'seat ' || seat_hold.seat_no || ' on date ' || seat_hold.date_id || ' is '
          || case when v_seat.status = 'SOLD' then 'sold' else 'held by another user' end;
    end if;
  end if;

  body := app.reservation_json(v_reservation, v_now);
  perform app.idempotency_finish(v_user_id, seat_hold.idempotency_key, status, body);
end
$$;

comment on function app.seat_hold(uuid, bigint, bigint, integer, bigint, text, timestamptz) is
'The rule of api.seat_hold with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Holds a seat for the token''s user for HOLD_SECONDS (POST /api/reservations).
A seat is free when FREE, or HELD with a lapsed hold, whose reservation is then marked EXPIRED.
Parameters: token, an ACTIVE ticket of this concert; concert_id; date_id; seat_no, 1 to 50;
user_id, optional, must be the token''s user; idempotency_key, optional Idempotency-Key
(a replay returns the first answer before any check); as_of, the clock (default now()).
Result: status 201 and the new Reservation (status HELD), or status 200 and the same reservation when the user
already holds that seat; body = {"reservationId", "userId", "concertId", "dateId", "date", "seatNo", "price",
"status", "expiresAt"}.
Errors: CR001 missing id, seat_no outside 1..50 or malformed key; CR301, CR302, CR304, CR303 from the token gate;
CR304 user_id not the token''s user; CR103 unknown date, a date of another concert or already begun;
CR206 the token already holds max_holds_per_token seats; CR201 the seat is held by another user or sold;
CR204 idempotency key used with another request.';

revoke execute on function app.seat_hold(uuid, bigint, bigint, integer, bigint, text, timestamptz) from public;

create or replace function api.seat_hold(
  token uuid,
  concert_id bigint,
  date_id bigint,
  seat_no integer,
  user_id bigint default null,
  idempotency_key text default null,
  out status integer,
  out body jsonb)
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  select f.status, f.body into status, body
  from app.seat_hold(token => seat_hold.token, concert_id => seat_hold.concert_id, date_id => seat_hold.date_id, seat_no => seat_hold.seat_no, user_id => seat_hold.user_id, idempotency_key => seat_hold.idempotency_key, as_of => now()) f;
end
$$;

comment on function api.seat_hold(uuid, bigint, bigint, integer, bigint, text) is
'Holds a seat for the token''s user for HOLD_SECONDS (POST /api/reservations).
A seat is free when FREE, or HELD with a lapsed hold, whose reservation is then marked EXPIRED.
Parameters: token, an ACTIVE ticket of this concert; concert_id; date_id; seat_no, 1 to 50;
user_id, optional, must be the token''s user; idempotency_key, optional Idempotency-Key
(a replay returns the first answer before any check).
Result: status 201 and the new Reservation (status HELD), or status 200 and the same reservation when the user
already holds that seat; body = {"reservationId", "userId", "concertId", "dateId", "date", "seatNo", "price",
"status", "expiresAt"}.
Errors: CR001 missing id, seat_no outside 1..50 or malformed key; CR301, CR302, CR304, CR303 from the token gate;
CR304 user_id not the token''s user; CR103 unknown date, a date of another concert or already begun;
CR206 the token already holds max_holds_per_token seats; CR201 the seat is held by another user or sold;
CR204 idempotency key used with another request.';

revoke execute on function api.seat_hold(uuid, bigint, bigint, integer, bigint, text) from public;
grant execute on function api.seat_hold(uuid, bigint, bigint, integer, bigint, text) to boxoffice_api;

create or replace function app.holds_expire(as_of timestamptz default null)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
-- Its claim's generic plan scans the table (bench/explain/REPORT.md); a custom
-- plan per run keeps it on the partial index however the statistics drift.
set plan_cache_mode = force_custom_plan
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(holds_expire.as_of, now());
  v_count integer;
begin
  -- Lapsed holds through seats_hold_expires_at_idx. SKIP LOCKED leaves a seat
  -- that api.seat_hold is taking over (or api.reservation_cancel freeing) to
  -- that transaction; the seat's status is re-checked on the locked row.
  with lapsed as (
    select s.date_id, s.seat_no, s.reservation_id
    from app.seats s
    where s.status = 'HELD' and s.hold_expires_at <= v_now
    for update skip locked
  ),
  freed as (
    update app.seats s
    set status = 'FREE', user_id = null, reservation_id = null, hold_expires_at = null
    from lapsed l
    where s.date_id = l.date_id and s.seat_no = l.seat_no
    returning l.reservation_id
  ),
  ended as (
    update app.reservations r
    set status = 'EXPIRED', ended_at = r.expires_at
    from freed f
    where r.reservation_id = f.reservation_id and r.status = 'HELD'
  )
  select count(*)::integer into v_count from freed;
  return v_count;
end
$$;

comment on function app.holds_expire(timestamptz) is
'The rule of api.holds_expire with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Frees the seats whose hold has lapsed and marks their reservations EXPIRED; the scheduler runs it every 2 seconds.
Seats another transaction has locked are skipped (a takeover in api.seat_hold ends the old reservation itself).
Parameters: as_of, the clock (default now()).
Result: the number of seats freed.
Errors: none.';

revoke execute on function app.holds_expire(timestamptz) from public;

create or replace function api.holds_expire(
  )
returns integer
language sql
volatile
security definer
set search_path = ''
as $$
  select app.holds_expire(as_of => now())
$$;

comment on function api.holds_expire() is
'Frees the seats whose hold has lapsed and marks their reservations EXPIRED; the scheduler runs it every 2 seconds.
Seats another transaction has locked are skipped (a takeover in api.seat_hold ends the old reservation itself).
Parameters: none.
Result: the number of seats freed.
Errors: none.';

revoke execute on function api.holds_expire() from public;
grant execute on function api.holds_expire() to boxoffice_api;
