-- api.holds_expire: lapsed holds become FREE seats and EXPIRED reservations; the count is returned.
begin;
select plan(10);

-- Clear holds that lapse in this test's window and are not its own, so the counts below are exact.
select app.holds_expire(now() + interval '1 day');

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 1)).body ->> 'reservationId' as r1 \gset
select (api.seat_hold(:'ann_token'::uuid, :concert, :date1, 2)).body ->> 'reservationId' as r2 \gset
select (api.seat_hold(:'bob_token'::uuid, :concert, :date2, 3)).body ->> 'reservationId' as r3 \gset
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select tests.setting('hold_seconds', 1000);
set local role boxoffice_api;
select (api.seat_hold(:'bob_token'::uuid, :concert, :date2, 4)).body ->> 'reservationId' as r4 \gset

select is(api.holds_expire(), 0, 'nothing has lapsed yet');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select is(app.holds_expire(now() + interval '299 seconds'), 0, 'nor one second before the holds end');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.holds_expire(now() + interval '300 seconds'), 3, 'the three 300 s holds lapse together');
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.holds_expire(now() + interval '300 seconds'), 0, 'a second run finds nothing');
set local role boxoffice_api;

reset role;
select is((select array_agg((s.status, s.user_id is null, s.reservation_id is null, s.hold_expires_at is null)::text
                     order by s.date_id, s.seat_no)
           from app.seats s where (s.date_id, s.seat_no) in ((:date1, 1), (:date1, 2), (:date2, 3), (:date2, 4))),
  array['(FREE,t,t,t)', '(FREE,t,t,t)', '(FREE,t,t,t)', '(HELD,f,f,f)'],
  'the three lapsed seats are FREE with their holder columns cleared; the 1000 s hold is not');
select is((select array_agg((r.status, r.ended_at = r.expires_at)::text order by r.reservation_id)
           from app.reservations r where r.reservation_id in (:r1, :r2, :r3)),
  array['(EXPIRED,t)', '(EXPIRED,t)', '(EXPIRED,t)'], 'their reservations are EXPIRED, ended when the hold lapsed');
select is((select r.status from app.reservations r where r.reservation_id = :r4), 'HELD',
  'the 1000 s hold''s reservation is untouched');

-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.holds_expire(now() + interval '1000 seconds'), 1, 'it lapses later, alone');
select is((select r.status from app.reservations r where r.reservation_id = :r4), 'EXPIRED', 'and is EXPIRED');

-- A cancelled or taken-over hold is not swept again.
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select (app.seat_hold(:'ann_token'::uuid, :concert, :date1, 5, as_of => now() + interval '2000 seconds')).body ->> 'reservationId' as r5 \gset
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select app.reservation_cancel(:'ann_token'::uuid, :r5, now() + interval '2001 seconds') \gset
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(app.holds_expire(now() + interval '1 day'), 0, 'a cancelled hold is not counted');
set local role boxoffice_api;

select * from finish();
rollback;
