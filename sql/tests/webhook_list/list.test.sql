-- api.webhook_list: the newest events with their delivery state and last attempt; owner only.
begin;
select plan(8);

select app.outbox_add('test.a', 5, 921, '{"n": 1}') as a \gset
select app.outbox_add('test.b', 5, 922, '{"n": 2}') as b \gset
update app.outbox set delivery_status = 'DEAD', attempts = 2 where event_id = :a;
insert into app.webhook_attempts (event_id, attempt_no, instance, started_at, duration_ms, status_code, response_head, error)
values (:a, 1, 'i1', now() - interval '1 minute', 10, 500, 'first', null),
       (:a, 2, 'i1', now(), 20, null, null, 'timed out');

select throws_ok('select api.webhook_list(status => ''LOST'')', 'CR001', NULL, 'an unknown status is refused');
select throws_ok('select api.webhook_list(max_events => 0)', 'CR001', NULL, 'max_events 0 is refused');

select is(jsonb_array_length(api.webhook_list(max_events => 2)->'events'), 2, 'max_events events at most');
select is((api.webhook_list(max_events => 1)->'events'->0->>'eventId')::bigint, :b::bigint, 'newest first');
select is(
  (select e - 'webhookId' - 'createdAt' from jsonb_array_elements(api.webhook_list(status => 'DEAD', max_events => 10000)->'events') e
   where (e->>'eventId')::bigint = :a),
  jsonb_build_object('eventId', :a, 'type', 'test.a', 'reservationId', 921, 'status', 'DEAD', 'attempts', 2,
    'nextAttemptAt', null, 'deliveredAt', null,
    'lastAttempt', jsonb_build_object('at', app.iso(now()), 'statusCode', null, 'durationMs', 20, 'error', 'timed out',
                                      'responseHead', null, 'instance', 'i1')),
  'an event with its state and its last attempt');
select ok(
  not exists (select from jsonb_array_elements(api.webhook_list(status => 'DEAD', max_events => 10000)->'events') e
              where e->>'status' <> 'DEAD'),
  'status filters');
select ok(not has_function_privilege('boxoffice_api', 'api.webhook_list(text, integer)', 'execute'),
  'the server''s role may not list (owner only)');
select ok(not has_function_privilege('public', 'api.webhook_list(text, integer)', 'execute'), 'nor PUBLIC');

select * from finish();
rollback;
