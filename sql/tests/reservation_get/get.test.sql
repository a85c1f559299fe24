-- api.reservation_get: the owner's reservation, with any live token; a lapsed hold reads EXPIRED.
begin;
select plan(10);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7) \gset h_
select (:'h_body'::jsonb ->> 'reservationId')::bigint as res \gset

select is(api.reservation_get(:'ann_token'::uuid, :res), :'h_body'::jsonb, 'the owner reads the Reservation seat_hold returned');
select is(api.reservation_get(:'ann_other_token'::uuid, :res), :'h_body'::jsonb,
  'any live token of the owner will do, of another concert too');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select is(app.reservation_get(:'ann_token'::uuid, :res, now() + interval '300 seconds'),
  jsonb_set(:'h_body'::jsonb, '{status}', '"EXPIRED"'),
  'a lapsed hold reads EXPIRED before any job runs, expiresAt unchanged');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.reservation_get(:'ann_token'::uuid, :res, now() + interval '299 seconds') ->> 'status', 'HELD',
  'and HELD until then');
set local role boxoffice_api;

select throws_ok(format('select api.reservation_get(%L, %s)', :'bob_token', :res),
  'CR304', NULL, 'another user''s reservation is forbidden');
select throws_ok(format('select api.reservation_get(%L, %s)', :'ann_token', :res + 1000000),
  'CR104', NULL, 'an unknown reservation is not found');
select throws_ok(format('select api.reservation_get(%L, %s)', gen_random_uuid(), :res),
  'CR301', NULL, 'an unknown token is refused');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.reservation_get(%L, %s, %L)', :'ann_token', :res, now() + interval '8 days'),
  'CR302', NULL, 'an expired token is refused');
set local role boxoffice_api;

-- A WAITING token is live: cid holds nothing, but his token passes the gate.
select throws_ok(format('select api.reservation_get(%L, %s)', :'cid_token', :res),
  'CR304', NULL, 'a WAITING token passes the gate and meets the owner check');

reset role;
update app.reservations set status = 'PAID', ended_at = now() where reservation_id = :res;
update app.seats set status = 'SOLD', hold_expires_at = null where date_id = :date1 and seat_no = 7;
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.reservation_get(:'ann_token'::uuid, :res, now() + interval '1 hour') ->> 'status', 'PAID',
  'a PAID reservation stays PAID after its hold time');
set local role boxoffice_api;

select * from finish();
rollback;
