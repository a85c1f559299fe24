-- api.webhook_attempt_finish: every attempt recorded; 2xx delivers; anything else backs off, growing, then DEAD.
begin;
select plan(16);

update app.outbox set delivery_status = 'DELIVERED' where delivery_status = 'PENDING';
select app.outbox_add('test.a', null, 911, '{"n": 1}') as a \gset
select app.outbox_add('test.b', null, 912, '{"n": 2}') as b \gset

set local role boxoffice_api;
select throws_ok(format('select api.webhook_attempt_finish(%s, 1, ''t'', -1, 500, null, null, 3, 1)', :a),
  'CR001', NULL, 'a negative duration is refused');
select throws_ok(format('select api.webhook_attempt_finish(%s, 1, ''t'', 1, 700, null, null, 3, 1)', :a),
  'CR001', NULL, 'a status code outside 100..599 is refused');
select throws_ok(format('select api.webhook_attempt_finish(%s, 1, ''t'', 1, 500, null, null, 0, 1)', :a),
  'CR001', NULL, 'max_attempts 0 is refused');
select throws_ok('select api.webhook_attempt_finish(-1, 1, ''t'', 1, 500, null, null, 3, 1)',
  'CR108', NULL, 'an unknown event is CR108');

-- Attempt 1 of a: 500. Back-off retry_seconds (10 s).
select count(*) from api.webhook_claim(10, 60);
select is(api.webhook_attempt_finish(:a, 1, 'i1', 12, 500, 'oops', null, 3, 10), 'PENDING', '500: PENDING again');
reset role;
select is((select next_attempt_at from app.outbox where event_id = :a), now() + interval '10 seconds',
  'due again after retry_seconds');
select results_eq(format('select attempt_no, instance, duration_ms, status_code, response_head, error from app.webhook_attempts where event_id = %s', :a),
  $$values (1, 'i1', 12, 500, 'oops', null::text)$$, 'the attempt is recorded with its answer');

-- Attempt 2: a timeout (no answer). Back-off doubles.
update app.outbox set next_attempt_at = now() where event_id = :a;
set local role boxoffice_api;
select count(*) from api.webhook_claim(10, 60);
select is(api.webhook_attempt_finish(:a, 2, 'i1', 5000, null, null, 'timed out', 3, 10), 'PENDING',
  'no answer: PENDING again');
reset role;
select is((select next_attempt_at from app.outbox where event_id = :a), now() + interval '20 seconds',
  'the back-off grows: twice retry_seconds after the second attempt');

-- The back-off is capped at max_retry_seconds.
select app.outbox_add('test.c', null, 913, '{"n": 3}') as c \gset
set local role boxoffice_api;
select count(*) from api.webhook_claim(10, 60);
reset role;
update app.outbox set next_attempt_at = now() where event_id = :c;
set local role boxoffice_api;
select count(*) from api.webhook_claim(10, 60);
select api.webhook_attempt_finish(:c, 2, 'i1', 1, 500, null, null, 5, 10, max_retry_seconds => 15);
reset role;
select is((select next_attempt_at from app.outbox where event_id = :c), now() + interval '15 seconds',
  'the back-off stops growing at max_retry_seconds');

-- Attempt 3 is the last: DEAD.
update app.outbox set next_attempt_at = now() where event_id = :a;
set local role boxoffice_api;
select count(*) from api.webhook_claim(10, 60);
select is(api.webhook_attempt_finish(:a, 3, 'i1', 3, 503, 'down', null, 3, 10), 'DEAD',
  'the last attempt failing makes the event DEAD');
reset role;
select is((select count(*) from app.webhook_attempts where event_id = :a), 3::bigint, 'three attempts recorded');

-- b: a stale attempt (its lease ran out, claimed again as attempt 2) that fails changes nothing;
-- a late 2xx of the stale attempt still delivers.
set local role boxoffice_api;
select count(*) from api.webhook_claim(10, 60);
reset role;
update app.outbox set next_attempt_at = now() where event_id = :b;
set local role boxoffice_api;
select count(*) from api.webhook_claim(10, 60);
reset role;
select next_attempt_at as b_lease from app.outbox where event_id = :b \gset
set local role boxoffice_api;
select is(api.webhook_attempt_finish(:b, 1, 'old', 1, 500, null, null, 3, 10), 'PENDING',
  'a stale failed attempt leaves the event PENDING');
reset role;
select is((select next_attempt_at from app.outbox where event_id = :b), :'b_lease'::timestamptz,
  'and the newer claim''s lease alone');
set local role boxoffice_api;
select is(api.webhook_attempt_finish(:b, 1, 'old', 1, 204, null, null, 3, 10), 'DELIVERED',
  'a stale attempt''s 2xx still delivers');
select is(api.webhook_attempt_finish(:b, 2, 'new', 1, 500, null, null, 3, 10), 'DELIVERED',
  'and a later failure does not undo a delivery');
reset role;

select * from finish();
rollback;
