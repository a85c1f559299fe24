-- api.webhook_retry: an event goes again from the first attempt, due now, same webhook_id; owner only.
begin;
select plan(7);

update app.outbox set delivery_status = 'DELIVERED' where delivery_status = 'PENDING';
select app.outbox_add('test.a', null, 931, '{"n": 1}') as a \gset
update app.outbox set delivery_status = 'DEAD', attempts = 5, next_attempt_at = now() - interval '1 hour' where event_id = :a;
insert into app.webhook_attempts (event_id, attempt_no, instance, started_at, duration_ms, status_code)
values (:a, 5, 'i1', now(), 10, 500);
select webhook_id as wid from app.outbox where event_id = :a \gset

select throws_ok('select api.webhook_retry(-1)', 'CR108', NULL, 'an unknown event is CR108');
select throws_ok('select api.webhook_retry(null)', 'CR001', NULL, 'a missing id is CR001');

select is(api.webhook_retry(:a)->>'status', 'PENDING', 'a DEAD event is PENDING again');
select results_eq(format('select attempts, next_attempt_at, webhook_id from app.outbox where event_id = %s', :a),
  format('values (0, now(), %L::uuid)', :'wid'), 'from the first attempt, due now, with the same webhook_id');
select is((select count(*) from app.webhook_attempts where event_id = :a), 1::bigint, 'its attempts so far stay recorded');

set local role boxoffice_api;
select results_eq('select event_id from api.webhook_claim(10, 30)', format('values (%s::bigint)', :a),
  'and the deliverer claims it');
reset role;

select ok(not has_function_privilege('boxoffice_api', 'api.webhook_retry(bigint)', 'execute'),
  'the server''s role may not retry (owner only)');

select * from finish();
rollback;
