-- api.concert_dates: the dates still to come that have a free seat, with their free seat count.
begin;
select plan(11);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset
-- more holds per token than MAX_HOLDS_PER_TOKEN's default: the limit is not the point here
select tests.setting('max_holds_per_token', 50);

set local role boxoffice_api;

select is(api.concert_dates(:'ann_token'::uuid, :concert),
  jsonb_build_object('concertId', :concert, 'dates', jsonb_build_array(
    jsonb_build_object('dateId', :date1, 'date', to_char((now() + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 50),
    jsonb_build_object('dateId', :date2, 'date', to_char((now() + interval '2 days') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 50))),
  'the dates to come by start, with their UTC date and free seats; the begun date is left out');

-- ann holds 3 seats of date1; bob holds the other 47.
select is((select count(*) from (select api.seat_hold(:'ann_token'::uuid, :concert, :date1, n) from generate_series(1, 3) n) h),
  3::bigint, 'ann holds 3 seats');
select is((select count(*) from (select api.seat_hold(:'bob_token'::uuid, :concert, :date1, n) from generate_series(4, 50) n) h),
  47::bigint, 'bob holds the other 47');
select is(jsonb_path_query_array(api.concert_dates(:'ann_token'::uuid, :concert), '$.dates[*].dateId'),
  jsonb_build_array(:date2), 'a date with all 50 seats held leaves the list');
select is(api.seat_list(:'ann_token'::uuid, :concert, :date1) -> 'seats', '[]'::jsonb, 'and lists no seat');

reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
-- The holds lapse: the date is back at once, before any job runs.
select is(jsonb_path_query_array(app.concert_dates(:'ann_token'::uuid, :concert, now() + interval '301 seconds'),
    '$.dates[*] ? (@.dateId == $d).availableSeats', jsonb_build_object('d', :date1)),
  '[50]'::jsonb, 'lapsed holds count as free at once');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(jsonb_path_query_array(app.concert_dates(:'ann_token'::uuid, :concert, now() + interval '299 seconds'),
    '$.dates[*].dateId'),
  jsonb_build_array(:date2), 'holds not yet lapsed still count as taken');
set local role boxoffice_api;

-- A cancelled hold and a sold seat.
reset role;
select r.reservation_id as first_hold from app.reservations r where r.date_id = :date1 and r.seat_no = 1 \gset
select tests.sold_seat(:ann, :date2, 50) as sold \gset
set local role boxoffice_api;
select is(api.reservation_cancel(:'ann_token'::uuid, :first_hold) ->> 'status', 'CANCELLED', 'ann cancels one hold');
select is(api.concert_dates(:'ann_token'::uuid, :concert) -> 'dates',
  jsonb_build_array(
    jsonb_build_object('dateId', :date1, 'date', to_char((now() + interval '1 day') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 1),
    jsonb_build_object('dateId', :date2, 'date', to_char((now() + interval '2 days') at time zone 'UTC', 'YYYY-MM-DD'), 'availableSeats', 49)),
  'a cancelled seat is free at once and a sold seat is not counted');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select is(app.concert_dates(:'ann_token'::uuid, :concert, now() + interval '3 days') -> 'dates', '[]'::jsonb,
  'when every date has begun the list is empty');
set local role boxoffice_api;
select is(api.concert_dates(:'ann_other_token'::uuid, :other_concert) -> 'concertId', to_jsonb(:other_concert),
  'the other concert answers with its own id');

select * from finish();
rollback;
