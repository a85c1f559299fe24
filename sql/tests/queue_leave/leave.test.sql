-- api.queue_leave: the ticket becomes LEFT at once, the token stops working,
-- the ones behind move up, and a given-up ACTIVE slot goes to the next in line.
begin;
select plan(11);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();

select tests.setting('queue_active_cap', 1);
select tests.concert() as concert_id \gset
-- four users join in turn: tokens t1..t4
select * from tests.queue_line(:concert_id, 4, 'leave') \gset

set local role boxoffice_api;
select lives_ok(format('select api.queue_leave(%L)', :'t1'), 'a WAITING ticket can leave');
reset role;
select is((select (status, ended_at, activated_at) from app.queue_tickets where token = :'t1'),
  row('LEFT'::text, now(), null::timestamptz), 'it is LEFT, ended now, never activated');
set local role boxoffice_api;
select throws_ok(format('select api.queue_status(%L)', :'t1'), 'CR302', null, 'a left token is CR302');
select throws_ok(format('select api.queue_leave(%L)', :'t1'), 'CR302', null, 'leaving twice is CR302');
select is((api.queue_status(:'t2')->>'position')::integer, 1, 'the one behind moves up to 1');
select is((api.queue_status(:'t3')->>'position')::integer, 2, 'and the next to 2');

-- an ACTIVE slot given up goes to the next in line
select api.queue_admit() as admitted \gset
select is(api.queue_status(:'t2')->>'status', 'ACTIVE', 'cap 1: the second user is admitted');
select api.queue_leave(:'t2') \gset
select is(api.queue_admit(), 1, 'after the ACTIVE one leaves, the next admission admits one');
select is(api.queue_status(:'t3')->>'status', 'ACTIVE', 'the next in line');

-- an idle WAITING ticket is dead already
reset role;
select throws_ok(format('select app.queue_leave(%L, %L)', :'t4', now() + interval '1 hour'),
  'CR302', null, 'leaving with a ticket gone idle is CR302');
select is((select status from app.queue_tickets where token = :'t4'), 'WAITING',
  'and changes nothing (the sweep will expire it)');

select * from finish();
rollback;
