-- Concerts, their dates and their free seats: GET /api/concerts,
-- GET /api/concerts/{concertId}/dates, GET /api/concerts/{concertId}/dates/{dateId}/seats.
--
-- A seat is free when it is FREE, or HELD with a hold that has lapsed
-- (hold_expires_at <= now): a lapsed hold counts as free at once, before
-- api.holds_expire tidies it up. Among unsold seats, seats_holder_check makes
-- hold_expires_at null exactly when the seat is FREE, so the free test reads
--   status <> 'SOLD' and (hold_expires_at is null or hold_expires_at <= now)
-- which the partial index seats_date_id_seat_no_idx (where status <> 'SOLD',
-- include price, hold_expires_at) answers without the status column.
--
-- The two queries live in SQL helpers that the planner inlines into the
-- calling query, so that the EXPLAIN tests (sql/tests/explain) plan exactly
-- the statement the api functions run. Inlining needs a SQL function that is
-- stable, not strict, security invoker and WITHOUT a SET clause, so these two
-- helpers leave out `set search_path = ''`; every name in them is
-- schema-qualified, and their callers run with search_path ''.

-- The free seats of one date, by seat_no.
create or replace function app.seat_free_list(date_id bigint, as_of timestamptz)
returns table (seat_no smallint, price bigint)
language sql
stable
security invoker
as $$
  select s.seat_no, s.price
  from app.seats s
  where s.date_id = seat_free_list.date_id
    and s.status <> 'SOLD'
    and (s.hold_expires_at is null or s.hold_expires_at <= seat_free_list.as_of)
  order by s.seat_no
$$;

comment on function app.seat_free_list(bigint, timestamptz) is
'The free seats (FREE, or HELD with a lapsed hold) of date date_id at as_of, by seat_no.
Inlined into its callers (no SET clause on purpose); plan: Index Scan using seats_date_id_seat_no_idx.';

-- The dates of a concert still to come that have a free seat, by starts_at,
-- with their number of free seats. One index range scan of the concert's
-- dates (concert_dates_concert_id_starts_at_key, already in starts_at order),
-- and per date one count over seats_date_id_seat_no_idx.
create or replace function app.date_availability_list(concert_id bigint, as_of timestamptz)
returns table (date_id bigint, starts_at timestamptz, available_seats bigint)
language sql
stable
security invoker
as $$
  select d.date_id, d.starts_at, f.available_seats
  from app.concert_dates d
  cross join lateral (
    select count(*) as available_seats
    from app.seats s
    where s.date_id = d.date_id
      and s.status <> 'SOLD'
      and (s.hold_expires_at is null or s.hold_expires_at <= date_availability_list.as_of)) f
  where d.concert_id = date_availability_list.concert_id
    and d.starts_at > date_availability_list.as_of
    and f.available_seats > 0
  order by d.starts_at
$$;

comment on function app.date_availability_list(bigint, timestamptz) is
'The dates of concert concert_id after as_of that have at least one free seat, by starts_at, with their free seat count.
Inlined into its callers (no SET clause on purpose); plan: Index Scan of concert_dates_concert_id_starts_at_key,
then per date an aggregate over seats_date_id_seat_no_idx.';

-- The API form of a date: its UTC calendar date. Stable (to_char is) and
-- without a SET clause, like the helpers above, so that it is inlined rather
-- than called once per row.
create or replace function app.date_text(starts_at timestamptz)
returns text
language sql
stable
security invoker
as $$
  select to_char(date_text.starts_at at time zone 'UTC', 'YYYY-MM-DD')
$$;

comment on function app.date_text(timestamptz) is 'The UTC date of starts_at as YYYY-MM-DD, the "date" of the API.';

create or replace function app.concert_list(as_of timestamptz default null)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object('concerts', coalesce(jsonb_agg(jsonb_build_object(
           'concertId', c.concert_id,
           'title', c.title,
           'venue', c.venue,
           'dates', (select count(*)
                     from app.concert_dates d
                     where d.concert_id = c.concert_id
                       and d.starts_at > coalesce(concert_list.as_of, now())),
           'saleOpensAt', app.iso(c.sale_opens_at))
         order by c.concert_id), '[]'::jsonb))
  from app.concerts c
$$;

comment on function app.concert_list(timestamptz) is
'The rule of api.concert_list with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Lists every concert (GET /api/concerts); needs no token.
Parameters: as_of, the clock (default now()).
Result: {"concerts": [{"concertId", "title", "venue", "dates", "saleOpensAt"}]} by concertId; dates = how many of its dates start
after as_of; saleOpensAt = the scheduled opening of its sale, null when it has none.
Errors: none.';

revoke execute on function app.concert_list(timestamptz) from public;

create or replace function api.concert_list(
  )
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select app.concert_list(as_of => now())
$$;

comment on function api.concert_list() is
'Lists every concert (GET /api/concerts); needs no token.
Parameters: none.
Result: {"concerts": [{"concertId", "title", "venue", "dates", "saleOpensAt"}]} by concertId; dates = how many of its dates are
still to come; saleOpensAt = the scheduled opening of its sale (before it, joining puts a fan in the pre-queue), null
when it has none.
Errors: none.';

revoke execute on function api.concert_list() from public;
grant execute on function api.concert_list() to boxoffice_api;

create or replace function app.concert_dates(token uuid, concert_id bigint, as_of timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(concert_dates.as_of, now());
  v_dates jsonb;
begin
  if concert_dates.concert_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'concertId is required';
  end if;
  perform app.ticket_gate(concert_dates.token, concert_dates.concert_id, true, v_now);
  -- Unreachable through the gate today (a ticket's concert exists), kept so
  -- that the answer stays right if tickets ever outlive their concert.
  if not exists (select from app.concerts c where c.concert_id = concert_dates.concert_id) then
    raise exception using errcode = 'CR102', message = 'concert not found',
      detail = 'no concert ' || concert_dates.concert_id || ' exists';
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'dateId', a.date_id,
           'date', app.date_text(a.starts_at),
           'availableSeats', a.available_seats)
         order by a.starts_at), '[]'::jsonb)
  into v_dates
  from app.date_availability_list(concert_dates.concert_id, v_now) a;
  return jsonb_build_object('concertId', concert_dates.concert_id, 'dates', v_dates);
end
$$;

comment on function app.concert_dates(uuid, bigint, timestamptz) is
'The rule of api.concert_dates with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Lists the dates of a concert still to come that have a free seat (GET /api/concerts/{concertId}/dates).
A seat is free when FREE, or HELD with a lapsed hold.
Parameters: token, an ACTIVE ticket of this concert; concert_id; as_of, the clock (default now()).
Result: {"concertId", "dates": [{"dateId", "date": "YYYY-MM-DD" (UTC), "availableSeats"}]} by start time.
Errors: CR001 concert_id missing; CR301, CR302, CR304, CR303 from the token gate; CR102 unknown concert.';

revoke execute on function app.concert_dates(uuid, bigint, timestamptz) from public;

create or replace function api.concert_dates(
  token uuid,
  concert_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return app.concert_dates(token => concert_dates.token, concert_id => concert_dates.concert_id, as_of => now());
end
$$;

comment on function api.concert_dates(uuid, bigint) is
'Lists the dates of a concert still to come that have a free seat (GET /api/concerts/{concertId}/dates).
A seat is free when FREE, or HELD with a lapsed hold.
Parameters: token, an ACTIVE ticket of this concert; concert_id.
Result: {"concertId", "dates": [{"dateId", "date": "YYYY-MM-DD" (UTC), "availableSeats"}]} by start time.
Errors: CR001 concert_id missing; CR301, CR302, CR304, CR303 from the token gate; CR102 unknown concert.';

revoke execute on function api.concert_dates(uuid, bigint) from public;
grant execute on function api.concert_dates(uuid, bigint) to boxoffice_api;

create or replace function app.seat_list(token uuid, concert_id bigint, date_id bigint, as_of timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(seat_list.as_of, now());
  v_seats jsonb;
begin
  if seat_list.concert_id is null or seat_list.date_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'concertId and dateId are required';
  end if;
  perform app.ticket_gate(seat_list.token, seat_list.concert_id, true, v_now);
  perform from app.concert_dates d
  where d.date_id = seat_list.date_id and d.concert_id = seat_list.concert_id and d.starts_at > v_now;
  if not found then
    raise exception using errcode = 'CR103', message = 'date not found',
      detail = 'concert ' || seat_list.concert_id || ' has no date ' || seat_list.date_id || ' still to come';
  end if;
  select coalesce(jsonb_agg(jsonb_build_object('seatNo', f.seat_no, 'price', f.price) order by f.seat_no), '[]'::jsonb)
  into v_seats
  from app.seat_free_list(seat_list.date_id, v_now) f;
  return jsonb_build_object('concertId', seat_list.concert_id, 'dateId', seat_list.date_id, 'seats', v_seats);
end
$$;

comment on function app.seat_list(uuid, bigint, bigint, timestamptz) is
'The rule of api.seat_list with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Lists the free seats of a concert date (GET /api/concerts/{concertId}/dates/{dateId}/seats).
A seat is free when FREE, or HELD with a lapsed hold.
Parameters: token, an ACTIVE ticket of this concert; concert_id; date_id; as_of, the clock (default now()).
Result: {"concertId", "dateId", "seats": [{"seatNo", "price"}]} by seatNo.
Errors: CR001 id missing; CR301, CR302, CR304, CR303 from the token gate;
CR103 unknown date, a date of another concert, or a date already begun.';

revoke execute on function app.seat_list(uuid, bigint, bigint, timestamptz) from public;

create or replace function api.seat_list(
  token uuid,
  concert_id bigint,
  date_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return app.seat_list(token => seat_list.token, concert_id => seat_list.concert_id, date_id => seat_list.date_id, as_of => now());
end
$$;

comment on function api.seat_list(uuid, bigint, bigint) is
'Lists the free seats of a concert date (GET /api/concerts/{concertId}/dates/{dateId}/seats).
A seat is free when FREE, or HELD with a lapsed hold.
Parameters: token, an ACTIVE ticket of this concert; concert_id; date_id.
Result: {"concertId", "dateId", "seats": [{"seatNo", "price"}]} by seatNo.
Errors: CR001 id missing; CR301, CR302, CR304, CR303 from the token gate;
CR103 unknown date, a date of another concert, or a date already begun.';

revoke execute on function api.seat_list(uuid, bigint, bigint) from public;
grant execute on function api.seat_list(uuid, bigint, bigint) to boxoffice_api;
