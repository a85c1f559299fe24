-- The token gate as the queue routes meet it: unknown CR301, not live CR302
-- (left, or idle while WAITING), another concert CR304, WAITING where ACTIVE
-- is needed CR303; api.queue_status takes any live token.
begin;
select plan(9);

select tests.setting('waiting_idle_seconds', 300);
select tests.concert() as concert_id \gset
select tests.concert() as concert2_id \gset
-- two users join concert in turn: tokens t1, t2
select * from tests.queue_line(:concert_id, 2, 'gate') \gset

set local role boxoffice_api;
select throws_ok(format('select api.queue_status(%L)', gen_random_uuid()),
  'CR301', null, 'an unknown token is CR301');
select is(api.queue_status(:'t1')->>'token', :'t1', 'a WAITING token is live for queue_status');
reset role;
select throws_ok(format('select app.queue_status(%L, %L)', :'t1', now() + interval '300 seconds'),
  'CR302', null, 'a WAITING token not polled for waiting_idle_seconds is CR302');
select lives_ok(format('select app.queue_status(%L, %L)', :'t1', now() + interval '299 seconds'),
  'one second before that it is still live');
set local role boxoffice_api;
select api.queue_leave(:'t2') \gset
select throws_ok(format('select api.queue_status(%L)', :'t2'),
  'CR302', null, 'a left token is CR302');

-- app.ticket_gate is private (the routes of other families call it)
reset role;
select throws_ok(format('select app.ticket_gate(%L, null, true)', :'t1'),
  'CR303', null, 'a WAITING token where an ACTIVE one is needed is CR303');
select throws_ok(format('select app.ticket_gate(%L, %s, false)', :'t1', :concert2_id),
  'CR304', null, 'a token of another concert is CR304');
select throws_ok(format('select app.ticket_gate(%L, %s, true)', :'t1', :concert2_id),
  'CR304', null, 'another concert (CR304) is checked before admission (CR303)');

set local role boxoffice_api;
select throws_ok(format('select api.queue_leave(%L)', gen_random_uuid()),
  'CR301', null, 'queue_leave with an unknown token is CR301');

select * from finish();
rollback;
