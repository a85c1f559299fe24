-- api.seat_list: the free seats of a date (FREE, or HELD with a lapsed hold), by seatNo, with their price.
begin;
select plan(8);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select is(api.seat_list(:'ann_token'::uuid, :concert, :date1),
  jsonb_build_object('concertId', :concert, 'dateId', :date1, 'seats',
    (select jsonb_agg(jsonb_build_object('seatNo', n, 'price', 1000 * n) order by n) from generate_series(1, 50) n)),
  'a fresh date lists its 50 seats by seatNo with their prices');

select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 7)).status, 201, 'bob holds seat 7');
reset role;
select tests.sold_seat(:ann, :date1, 9) as sold \gset
set local role boxoffice_api;

select is(jsonb_path_query_array(api.seat_list(:'ann_token'::uuid, :concert, :date1), '$.seats[*].seatNo'),
  (select jsonb_agg(n order by n) from generate_series(1, 50) n where n not in (7, 9)),
  'held and sold seats are not listed');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select is(jsonb_path_query_array(app.seat_list(:'ann_token'::uuid, :concert, :date1, now() + interval '301 seconds'), '$.seats[*].seatNo'),
  (select jsonb_agg(n order by n) from generate_series(1, 50) n where n <> 9),
  'a lapsed hold is listed again at once; a sold seat never');
set local role boxoffice_api;
select is(jsonb_array_length(api.seat_list(:'ann_token'::uuid, :concert, :date2) -> 'seats'), 50,
  'the holds of one date do not touch another');

select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_token', :concert, :date1 + 1000000),
  'CR103', NULL, 'an unknown date is not found');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_token', :concert, :other_date),
  'CR103', NULL, 'a date of another concert is not found');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_token', :concert, :past_date),
  'CR103', NULL, 'a date that has begun is not found');

select * from finish();
rollback;
