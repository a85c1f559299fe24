-- app.ticket_gate, the token gate every route with a token goes through, and
-- its parts app.ticket_find (given CR300, known CR301) and app.ticket_live
-- (CR302): each check, at its boundary, and the order of the checks.
begin;
select plan(25);

select tests.setting('waiting_idle_seconds', 300);
select tests.user('gate') as user_id \gset
select tests.concert() as concert_id \gset
select tests.concert() as concert2_id \gset
select tests.active_ticket(:user_id, :concert_id, '600 seconds') as active \gset
select tests.waiting_ticket(:user_id, :concert2_id) as waiting \gset
select tests.ended_ticket(:user_id, :concert_id, 'LEFT') as left_ \gset
select tests.ended_ticket(:user_id, :concert_id, 'USED') as used \gset
select tests.ended_ticket(:user_id, :concert_id, 'EXPIRED') as expired \gset

-- app.ticket_find: the ticket, whatever its status
select throws_ok('select app.ticket_find(null)', 'CR300', NULL, 'ticket_find: no token is CR300');
select throws_ok(format('select app.ticket_find(%L)', gen_random_uuid()), 'CR301', NULL,
  'ticket_find: an unknown token is CR301');
select is((app.ticket_find(:'used')).status, 'USED', 'ticket_find: a used-up ticket is found');
select is((app.ticket_find(:'active')).user_id, :user_id::bigint, 'ticket_find: the ticket of the token');

-- app.ticket_live at its boundaries
select ok(app.ticket_live(app.ticket_find(:'active'), now() + interval '599 seconds'),
  'an ACTIVE ticket is live before expires_at');
select ok(not app.ticket_live(app.ticket_find(:'active'), now() + interval '600 seconds'),
  'and dead at expires_at, before any job sweeps it');
select ok(app.ticket_live(app.ticket_find(:'waiting'), now() + interval '299 seconds'),
  'a WAITING ticket is live until waiting_idle_seconds after it was last seen');
select ok(not app.ticket_live(app.ticket_find(:'waiting'), now() + interval '300 seconds'),
  'and dead from then on');
select tests.setting('waiting_idle_seconds', 600);
select ok(app.ticket_live(app.ticket_find(:'waiting'), now() + interval '300 seconds'),
  'waiting_idle_seconds is read from the policy');
select tests.setting('waiting_idle_seconds', 300);
select ok(not app.ticket_live(app.ticket_find(:'left_'), now()), 'a LEFT ticket is dead');
select ok(not app.ticket_live(app.ticket_find(:'used'), now()), 'a USED ticket is dead');
select ok(not app.ticket_live(app.ticket_find(:'expired'), now()), 'an EXPIRED ticket is dead');

-- app.ticket_gate: each check
select throws_ok('select app.ticket_gate(null)', 'CR300', NULL, 'no token is CR300');
select throws_ok(format('select app.ticket_gate(%L)', gen_random_uuid()), 'CR301', NULL, 'an unknown token is CR301');
select throws_ok(format('select app.ticket_gate(%L)', :'left_'), 'CR302', NULL, 'a left token is CR302');
select throws_ok(format('select app.ticket_gate(%L)', :'used'), 'CR302', NULL, 'a used-up token is CR302');
select throws_ok(format('select app.ticket_gate(%L, null, true, %L)', :'active', now() + interval '600 seconds'),
  'CR302', NULL, 'an ACTIVE token at its expires_at is CR302');
select throws_ok(format('select app.ticket_gate(%L, %s)', :'active', :concert2_id), 'CR304', NULL,
  'a token of another concert is CR304');
select throws_ok(format('select app.ticket_gate(%L, %s)', :'waiting', :concert2_id), 'CR303', NULL,
  'a WAITING token where an ACTIVE one is needed is CR303');
select is((app.ticket_gate(:'waiting', :concert2_id, false)).token, :'waiting'::uuid,
  'a WAITING token passes where need_active is false');
select is((app.ticket_gate(:'active', :concert_id)).token, :'active'::uuid, 'an ACTIVE token of the concert passes');
select is((app.ticket_gate(:'active')).token, :'active'::uuid, 'with no concert given, any concert''s token passes');

-- the order: live before concert, concert before admission
select throws_ok(format('select app.ticket_gate(%L, %s)', :'left_', :concert2_id), 'CR302', NULL,
  'a dead token of another concert is CR302 (live is checked before the concert)');
select throws_ok(format('select app.ticket_gate(%L, %s, true, %L)', :'waiting', :concert_id, now() + interval '300 seconds'),
  'CR302', NULL, 'an idle WAITING token of another concert is CR302');
select throws_ok(format('select app.ticket_gate(%L, %s)', :'waiting', :concert_id), 'CR304', NULL,
  'a WAITING token of another concert is CR304 (the concert is checked before admission)');

select * from finish();
rollback;
