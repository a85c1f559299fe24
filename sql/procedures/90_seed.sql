-- Seed data for trying the service (boxoffice seed --demo) and for index,
-- EXPLAIN and load work (boxoffice seed --scale N). The CLI runs these as the
-- owner; they are private helpers, not granted to boxoffice_api.
--
-- Every date has seats 1..50, priced by row: 1-10 150 000 won, 11-30
-- 100 000 won, 31-50 70 000 won (app.seed_seat_price).

create or replace function app.seed_seat_price(seat_no integer)
returns bigint
language sql
immutable
security invoker
set search_path = ''
as $$
  select case when seed_seat_price.seat_no <= 10 then 150000
              when seed_seat_price.seat_no <= 30 then 100000
              else 70000 end::bigint
$$;

comment on function app.seed_seat_price(integer) is 'The seed price of seat seat_no in won: 150 000 (1-10), 100 000 (11-30), 70 000 (31-50).';

-- One concert per element of titles (venues alongside) with its queue,
-- dates_per_concert dates at 19:00 UTC on consecutive days from the day after
-- as_of, and 50 seats per date, in one set-based statement.
create or replace function app.seed_concerts(
  titles text[], venues text[], dates_per_concert integer, as_of timestamptz)
returns table (concerts_inserted bigint, dates_inserted bigint, seats_inserted bigint)
language sql
volatile
security invoker
set search_path = ''
as $$
  with c as (
    insert into app.concerts (title, venue)
    select t.title, t.venue
    from unnest(seed_concerts.titles, seed_concerts.venues) as t (title, venue)
    returning concert_id
  ),
  q as (
    insert into app.queues (concert_id) select c.concert_id from c
  ),
  d as (
    insert into app.concert_dates (concert_id, starts_at)
    select c.concert_id,
           ((seed_concerts.as_of at time zone 'UTC')::date + g + time '19:00') at time zone 'UTC'
    from c, generate_series(1, seed_concerts.dates_per_concert) g
    returning date_id, concert_id
  ),
  s as (
    insert into app.seats (date_id, seat_no, concert_id, price)
    select d.date_id, n, d.concert_id, app.seed_seat_price(n)
    from d, generate_series(1, 50) n
    returning 1
  )
  select (select count(*) from c), (select count(*) from d), (select count(*) from s)
$$;

comment on function app.seed_concerts(text[], text[], integer, timestamptz) is
'Inserts one concert per element of titles and venues, with its queue, dates_per_concert dates at 19:00 UTC
from the day after as_of, and 50 seats per date priced by app.seed_seat_price. Result: the rows inserted.';

create or replace function app.seed_demo(as_of timestamptz default null)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_now timestamptz := coalesce(seed_demo.as_of, now());
  v_users bigint;
  v_concerts bigint;
  v_dates bigint;
  v_seats bigint;
begin
  if exists (select from app.concerts) then
    return jsonb_build_object('seeded', false, 'concerts', 0, 'dates', 0, 'seats', 0, 'users', 0);
  end if;
  select x.concerts_inserted, x.dates_inserted, x.seats_inserted
  into v_concerts, v_dates, v_seats
  from app.seed_concerts(
    array['IU Golden Hour', 'BTS Yet To Come', 'Seoul Philharmonic New Year'],
    array['Olympic Gymnastics Arena', 'Jamsil Olympic Stadium', 'Lotte Concert Hall'],
    5, v_now) x;
  insert into app.users (name)
  select 'user-' || lpad(g::text, 4, '0') from generate_series(1, 1000) g;
  get diagnostics v_users = row_count;
  return jsonb_build_object('seeded', true, 'concerts', v_concerts, 'dates', v_dates, 'seats', v_seats,
                            'users', v_users);
end
$$;

comment on function app.seed_demo(timestamptz) is
'Demo data (boxoffice seed --demo): 3 concerts with their queues, 5 dates each at 19:00 UTC from the day after
as_of (default now()), 50 seats per date priced by row, and 1 000 users user-0001..user-1000 with a zero balance.
Does nothing when any concert exists.
Result: {"seeded": true|false, "concerts", "dates", "seats", "users"}, the rows inserted.';

create or replace function app.seed_scale(concerts integer, dates_per_concert integer, as_of timestamptz default null)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_first bigint;
  v_seats bigint;
begin
  if seed_scale.concerts is null or seed_scale.concerts not between 1 and 100000
     or seed_scale.dates_per_concert is null or seed_scale.dates_per_concert not between 1 and 3650 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'concerts must be 1 to 100000 and dates_per_concert 1 to 3650';
  end if;
  -- Titles number on from the concerts already there, so batches append.
  select coalesce(max(c.concert_id), 0) into v_first from app.concerts c;
  select x.seats_inserted into v_seats
  from app.seed_concerts(
    array(select 'Scale concert ' || (v_first + g) from generate_series(1, seed_scale.concerts) g),
    array(select 'Hall ' || chr(65 + g % 4) from generate_series(1, seed_scale.concerts) g),
    seed_scale.dates_per_concert, coalesce(seed_scale.as_of, now())) x;
  return v_seats;
end
$$;

comment on function app.seed_scale(integer, integer, timestamptz) is
'Load data (boxoffice seed --scale N, called in batches): appends concerts new concerts with their queues,
dates_per_concert dates each at 19:00 UTC from the day after as_of (default now()) and 50 seats per date.
Result: the number of seats inserted (concerts * dates_per_concert * 50).
Errors: CR001 concerts outside 1..100000 or dates_per_concert outside 1..3650.';
