-- api.webhook_claim: due PENDING events, oldest due first, never a later event of a reservation while an earlier one
-- is PENDING; each claim counts an attempt and leases the event for lease_seconds.
begin;
select plan(14);

-- Events from outside this test must not count: mark them delivered (rolled back at the end).
update app.outbox set delivery_status = 'DELIVERED' where delivery_status = 'PENDING';
select app.outbox_add('test.a', null, 901, '{"n": 1}') as a1 \gset
select app.outbox_add('test.a', null, 901, '{"n": 2}') as a2 \gset
select app.outbox_add('test.b', null, 902, '{"n": 3}') as b1 \gset
select app.outbox_add('test.c', null, null, '{"n": 4}') as c1 \gset
select app.outbox_add('test.d', null, null, '{"n": 5}') as d1 \gset
update app.outbox set next_attempt_at = now() + interval '1 minute' where event_id = :d1;

set local role boxoffice_api;
select throws_ok('select * from api.webhook_claim(0, 10)', 'CR001', NULL, 'max_events 0 is refused');
select throws_ok('select * from api.webhook_claim(10, null)', 'CR001', NULL, 'a null lease is refused');
create temp table claimed as select * from api.webhook_claim(10, 30);
reset role;

select results_eq('select event_id from claimed order by event_id',
  format('values (%s::bigint), (%s::bigint), (%s::bigint)', :a1, :b1, :c1),
  'the first event of each reservation and the unordered one; not a later event of a reservation, not one not yet due');
select results_eq(format('select attempt, kind from claimed where event_id = %s', :a1), $$values (1, 'test.a')$$,
  'the first claim is attempt 1');
select is((select body::jsonb from claimed where event_id = :a1),
  jsonb_build_object('type', 'test.a', 'timestamp', app.iso(now()), 'data', '{"n": 1}'::jsonb),
  'the body is the envelope {type, timestamp, data}');
select is((select webhook_id from claimed where event_id = :a1), (select webhook_id from app.outbox where event_id = :a1),
  'with the event''s webhook_id');
select is((select next_attempt_at from app.outbox where event_id = :a1), now() + interval '30 seconds',
  'a claimed event is leased for lease_seconds');
select is((select attempts from app.outbox where event_id = :a1), 1, 'and its attempts counted');

set local role boxoffice_api;
select is((select count(*) from api.webhook_claim(10, 30)), 0::bigint,
  'a leased event is not claimed again, nor the events that wait for it');
reset role;

-- a1 acknowledged: a2 becomes due.
set local role boxoffice_api;
select is(api.webhook_attempt_finish(:a1, 1, 'test', 5, 200, 'ok', null, 3, 1), 'DELIVERED', 'a1 acknowledged');
select results_eq('select event_id from api.webhook_claim(10, 30)', format('values (%s::bigint)', :a2),
  'then the next event of its reservation is claimed');
reset role;

-- The lease runs out (a deliverer died mid-attempt): the event is claimed again, as attempt 2, same webhook_id.
update app.outbox set next_attempt_at = now() - interval '1 second' where event_id = :b1;
select webhook_id as b1_webhook_id from app.outbox where event_id = :b1 \gset
set local role boxoffice_api;
select results_eq(format('select event_id, attempt, webhook_id from api.webhook_claim(10, 30) where event_id = %s', :b1),
  format('values (%s::bigint, 2, %L::uuid)', :b1, :'b1_webhook_id'),
  'an event whose lease ran out is claimed again, as the next attempt, with the same webhook_id');
reset role;

-- A DEAD event no longer holds up its reservation.
select app.outbox_add('test.b', null, 902, '{"n": 6}') as b2 \gset
update app.outbox set delivery_status = 'DEAD' where event_id = :b1;
set local role boxoffice_api;
select results_eq('select event_id from api.webhook_claim(10, 30)', format('values (%s::bigint)', :b2),
  'once the earlier event is DEAD, the later one goes');
reset role;

select ok(not has_function_privilege('public', 'api.webhook_claim(integer, integer)', 'execute'), 'not for PUBLIC');

select * from finish();
rollback;
