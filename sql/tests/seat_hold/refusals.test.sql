-- api.seat_hold refusals, in the API's order of errors: the token gate and the userId, then the date.
begin;
select plan(12);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', gen_random_uuid(), :concert, :date1),
  'CR301', NULL, 'an unknown token is refused');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.seat_hold(%L, %s, %s, 7, as_of => %L)', :'ann_token', :concert, :date1, now() + interval '8 days'),
  'CR302', NULL, 'an ACTIVE token past its expiresAt is refused');
set local role boxoffice_api;
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'cid_token', :concert, :date1),
  'CR303', NULL, 'a WAITING token is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_other_token', :concert, :date1),
  'CR304', NULL, 'a token of another concert is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, user_id => %s)', :'ann_token', :concert, :date1, :bob),
  'CR304', NULL, 'a userId that is not the token''s user is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_token', :concert, :date1 + 1000000),
  'CR103', NULL, 'an unknown date is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_token', :concert, :other_date),
  'CR103', NULL, 'a date of another concert is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_token', :concert, :past_date),
  'CR103', NULL, 'a date that has begun is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'ann_other_token', :other_concert, :date1),
  'CR103', NULL, 'a date of concert A asked for under concert B is not found');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7)', :'cid_token', :concert, :date1 + 1000000),
  'CR303', NULL, 'the token is checked before the date');

reset role;
select is((select count(*) from app.reservations r where r.concert_id in (:concert, :other_concert)), 0::bigint,
  'no reservation was created');
select is((select count(*) from app.seats s where s.concert_id in (:concert, :other_concert) and s.status <> 'FREE'), 0::bigint,
  'every seat is still FREE');

select * from finish();
rollback;
