-- api.sale_pause: a paused concert admits nobody; its line keeps its order
-- and its positions, with no estimated wait; joins and polls go on.
begin;
select plan(11);

select tests.clear_queues();
select tests.setting('queue_active_cap', 2);
select tests.setting('waiting_idle_seconds', 3600);
select tests.setting('new_users_per_minute', 0);
select tests.concert() as concert_id \gset
create temp table fx_fans on commit drop as select * from tests.join_line(:concert_id, 4);
select is(app.queue_admit(now()), 2, 'the first two are admitted');

select api.sale_pause(:concert_id) as sale \gset
select is((:'sale'::jsonb ->> 'state', :'sale'::jsonb ->> 'paused'), ('PAUSED'::text, 'true'::text), 'the sale is PAUSED');
select is(api.sale_pause(:concert_id) ->> 'state', 'PAUSED', 'pausing again changes nothing');

-- a slot is freed, but nobody gets it
select app.queue_leave(token, now()) from fx_fans where n = 1 \g /dev/null
select is(app.queue_admit(now() + interval '1 second'), 0, 'a paused concert admits nobody, though a slot is free');
select is((select array_agg(t.status order by f.n) from fx_fans f join app.queue_tickets t using (token)),
  array['LEFT', 'ACTIVE', 'WAITING', 'WAITING'], 'the line is as it was');
select is((select array_agg((app.queue_status(token, now() + interval '2 seconds') ->> 'position')::integer order by n)
           from fx_fans where n > 2),
  array[1, 2], 'positions are kept');
select is(app.queue_status((select token from fx_fans where n = 3), now() + interval '2 seconds') -> 'estimatedWaitSeconds',
  'null'::jsonb, 'and there is no estimated wait while paused');
select is((app.queue_join(tests.user('joins while paused'), :concert_id, now() + interval '3 seconds')).body -> 'position',
  '3'::jsonb, 'a join while paused gets its place at the back');

select throws_ok('select api.sale_pause(null)', 'CR001', null, 'no concert: CR001');
select throws_ok('select api.sale_pause(-1)', 'CR102', null, 'an unknown concert: CR102');
set local role boxoffice_api;
select throws_ok(format('select api.sale_pause(%s)', :concert_id), '42501', null, 'the server''s role may not pause a sale');
reset role;

select * from finish();
rollback;
