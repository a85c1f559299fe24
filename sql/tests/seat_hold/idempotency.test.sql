-- api.seat_hold with an Idempotency-Key: a replay returns the first answer before any check and holds once.
begin;
select plan(15);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select * from api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1') \gset first_
select is(:first_status, 201, 'the first call holds the seat');
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'a replay returns the same status and body');
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, user_id => :ann, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'naming the token''s own userId is the same request');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 8, idempotency_key => %L)', :'ann_token', :concert, :date1, 'hold-1'),
  'CR204', NULL, 'the same key for another seat is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, idempotency_key => %L)', :'ann_token', :concert, :date2, 'hold-1'),
  'CR204', NULL, 'the same key for another date is refused');
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 8, idempotency_key => 'hold-1')).status, 201,
  'keys are per user: bob''s hold-1 is a new request');

reset role;
select is((select count(*) from app.reservations r where r.user_id = :ann), 1::bigint, 'ann''s seat was held once');

-- A failure is not stored: the retry does the work afresh.
set local role boxoffice_api;
select throws_ok(format('select api.seat_hold(%L, %s, %s, 7, idempotency_key => %L)', :'bob_token', :concert, :date1, 'hold-2'),
  'CR201', NULL, 'bob''s hold-2 on ann''s seat fails');
select is((api.reservation_cancel(:'ann_token'::uuid, (:'first_body'::jsonb ->> 'reservationId')::bigint)) ->> 'status',
  'CANCELLED', 'ann cancels');
select is((api.seat_hold(:'bob_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-2')).status, 201,
  'bob''s retry of hold-2 now holds the seat');

-- Whatever happened since, the replay is the first answer; even after the token is used up.
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'the replay after a cancel is still the first answer');
reset role;
update app.queue_tickets set status = 'USED', ended_at = now() where token = :'ann_token';
set local role boxoffice_api;
select is(api.seat_hold(:'ann_token'::uuid, :concert, :date1, 7, idempotency_key => 'hold-1'),
  row(201, :'first_body'::jsonb), 'a replay is answered before the token is checked');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, idempotency_key => %L)', :'ann_token', :concert, :date1, 'hold-3'),
  'CR302', NULL, 'a new key with a used-up token goes on to the gate');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, idempotency_key => %L)', :'bob_token', :concert, :date1, E'bad\tkey'),
  'CR001', NULL, 'a malformed key is refused');
select throws_ok(format('select api.seat_hold(%L, %s, %s, 9, idempotency_key => %L)', gen_random_uuid(), :concert, :date1, 'hold-1'),
  'CR301', NULL, 'a key with an unknown token is refused');

select * from finish();
rollback;
