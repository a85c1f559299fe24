-- api.seat_hold with seatNo outside 1..50: a bad request, raised before the token is looked at, creating nothing.
begin;
select plan(8);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select throws_ok(format('select api.seat_hold(%L, %s, %s, 0)', :'ann_token', :concert, :date1),
  'CR001', NULL, 'seat 0 is a bad request');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 51)', :'ann_token', :concert, :date1),
  'CR001', NULL, 'seat 51 is a bad request');
select throws_ok(format('select api.seat_hold(%L, %s, %s, -1)', :'ann_token', :concert, :date1),
  'CR001', NULL, 'seat -1 is a bad request');
select throws_ok(format('select api.seat_hold(%L, %s, %s, null)', :'ann_token', :concert, :date1),
  'CR001', NULL, 'a missing seat is a bad request');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 51)', gen_random_uuid(), :concert, :date1),
  'CR001', NULL, 'the seat number is checked before the token');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 0, idempotency_key => %L)', :'ann_token', :concert, :date1, 'k-1'),
  'CR001', NULL, 'and before an idempotency key');

reset role;
select is((select count(*) from app.reservations r where r.concert_id = :concert), 0::bigint, 'no reservation was created');
select is((select count(*) from app.seats s where s.concert_id = :concert and s.status <> 'FREE'), 0::bigint,
  'every seat is still FREE');

select * from finish();
rollback;
