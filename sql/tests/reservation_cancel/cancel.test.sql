-- api.reservation_cancel: the owner cancels a held reservation and the seat is free at once.
begin;
select plan(17);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7)).body as held \gset
select (:'held'::jsonb ->> 'reservationId')::bigint as res \gset

select throws_ok(format('select api.reservation_cancel(%L, %s)', :'bob_token', :res),
  'CR304', NULL, 'another user cannot cancel it');
select throws_ok(format('select api.reservation_cancel(%L, %s)', :'ann_other_token', :res),
  'CR304', NULL, 'a token of another concert cannot cancel it');
select throws_ok(format('select api.reservation_cancel(%L, %s)', :'cid_token', :res),
  'CR303', NULL, 'a WAITING token cannot cancel');
select throws_ok(format('select api.reservation_cancel(%L, %s)', gen_random_uuid(), :res),
  'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.reservation_cancel(%L, %s)', :'ann_token', :res + 1000000),
  'CR104', NULL, 'an unknown reservation is not found');

select is(api.reservation_cancel(:'ann_token'::uuid, :res), jsonb_set(:'held'::jsonb, '{status}', '"CANCELLED"'),
  'the owner cancels: the Reservation with status CANCELLED');
select ok(api.seat_list(:'bob_token'::uuid, :concert, :date1) -> 'seats' @> '[{"seatNo": 7}]',
  'the seat is listed as free at once');
reset role;
select is((select (s.status, s.user_id, s.reservation_id, s.hold_expires_at)::text from app.seats s
           where s.date_id = :date1 and s.seat_no = 7),
  ('FREE', null::bigint, null::bigint, null::timestamptz)::text, 'the seat row is FREE');
select is((select (r.status, r.ended_at)::text from app.reservations r where r.reservation_id = :res),
  ('CANCELLED', now())::text, 'the reservation row is CANCELLED, ended now');
set local role boxoffice_api;
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 7)).status, 201, 'bob can hold it straight away');
select throws_ok(format('select api.reservation_cancel(%L, %s)', :'ann_token', :res),
  'CR202', NULL, 'cancelling it again: not held any more (409)');

-- A lapsed hold cannot be cancelled, whether or not the job has run.
select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 8)).body ->> 'reservationId' as res8 \gset
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.reservation_cancel(%L, %s, %L)', :'ann_token', :res8, now() + interval '300 seconds'),
  'CR205', NULL, 'a hold that has lapsed: HOLD_EXPIRED (410)');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.holds_expire(now() + interval '300 seconds') >= 1, true, 'the job sweeps it');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.reservation_cancel(%L, %s, %L)', :'ann_token', :res8, now() + interval '300 seconds'),
  'CR205', NULL, 'an EXPIRED reservation: HOLD_EXPIRED as well');
select is((select s.status from app.seats s where s.date_id = :date1 and s.seat_no = 8), 'FREE',
  'the failed cancels left the seat as the job put it');

-- A paid reservation cannot be cancelled.
set local role boxoffice_api;
select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 9)).body ->> 'reservationId' as res9 \gset
reset role;
update app.reservations set status = 'PAID', ended_at = now() where reservation_id = :res9;
update app.seats set status = 'SOLD', hold_expires_at = null where date_id = :date1 and seat_no = 9;
set local role boxoffice_api;
select throws_ok(format('select api.reservation_cancel(%L, %s)', :'ann_token', :res9),
  'CR202', NULL, 'a PAID reservation: not held (409)');
reset role;
select is((select s.status from app.seats s where s.date_id = :date1 and s.seat_no = 9), 'SOLD', 'and the seat stays SOLD');

select * from finish();
rollback;
