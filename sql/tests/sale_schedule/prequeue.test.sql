-- A scheduled opening: joins before it wait in a pre-queue with no position
-- and nobody is admitted; at the first admission run after it, the
-- pre-queue goes first (in random order) and those who joined after the
-- opening follow by arrival; positions are exact from the first poll after.
begin;
select plan(23);

select tests.audit_baseline();
select tests.clear_queues();
select tests.setting('queue_active_cap', 3);
select tests.setting('waiting_idle_seconds', 7200);
select tests.setting('active_token_seconds', 600);
select tests.setting('new_users_per_minute', 0);
select tests.concert() as concert_id \gset
select now() + interval '1 hour' as opens_at, app.iso(now() + interval '1 hour') as opens_iso \gset

select api.sale_schedule(:concert_id, :'opens_at') as sale \gset
select is(:'sale'::jsonb ->> 'state', 'SCHEDULED', 'scheduled an hour from now');
select is(:'sale'::jsonb ->> 'saleOpensAt', app.iso(:'opens_at'), 'saleOpensAt is the time given, ISO 8601 UTC');

-- five fans join before the opening, two of them a minute before it
create temp table fx_early on commit drop as select * from tests.join_line(:concert_id, 3, now(), '1 second', 'early');
insert into fx_early select n + 3, user_id, token
from tests.join_line(:concert_id, 2, :'opens_at'::timestamptz - interval '1 minute', '1 second', 'last minute');
grant select on fx_early to boxoffice_api;

set local role boxoffice_api;
select api.queue_status(token) as ticket from fx_early where n = 1 \gset
select is(:'ticket'::jsonb -> 'status', '"WAITING"', 'a pre-queued ticket is WAITING');
select is(:'ticket'::jsonb -> 'position', 'null', 'with position null');
select is(:'ticket'::jsonb -> 'estimatedWaitSeconds', 'null', 'and estimatedWaitSeconds null');
select is(:'ticket'::jsonb ->> 'saleOpensAt', :'opens_iso', 'and saleOpensAt set');
select ok((select bool_and(api.queue_status(token) -> 'position' = 'null') from fx_early),
  'every pre-queued ticket has position null');
reset role;

select is(app.queue_admit(now() + interval '59 minutes'), 0, 'before the opening nobody is admitted');
select is((select count(*) from app.queue_tickets where concert_id = :concert_id and status = 'WAITING'),
  5::bigint, 'all five still wait');

-- one of the early ones gives up before the opening (a departure, counted at its number)
select app.queue_leave(token, now() + interval '10 minutes') from fx_early where n = 2 \g /dev/null

-- two fans join just after the opening time, before the run that opens the sale
create temp table fx_late on commit drop as
select * from tests.join_line(:concert_id, 2, :'opens_at'::timestamptz + interval '100 milliseconds', '100 milliseconds', 'late');
select is(app.sale_status(:concert_id, :'opens_at'::timestamptz + interval '500 milliseconds') #>> '{sales,0,state}', 'OPENING',
  'past the opening time, before the run: OPENING');
select is((app.queue_status(token, :'opens_at'::timestamptz + interval '500 milliseconds') -> 'position'), 'null'::jsonb,
  'a ticket that joined after the opening time has no position until the opening is done either')
from fx_late where n = 1;

-- the run that opens the sale: the cap (3) goes to the pre-queue
select is(app.queue_admit(:'opens_at'::timestamptz + interval '1 second'), 3, 'the opening run admits the cap');
select is((select count(*) from app.queue_tickets t join fx_early e using (token) where t.status = 'ACTIVE'),
  3::bigint, 'all three admitted come from the pre-queue');
select is((select array_agg(t.status order by l.n) from app.queue_tickets t join fx_late l using (token)),
  array['WAITING', 'WAITING'], 'the fans who joined after the opening still wait');
select is((select count(*) from app.queue_tickets t join fx_early e using (token) where t.status = 'WAITING'),
  1::bigint, 'one of the pre-queue still waits');
select is((select (app.queue_status(t.token, :'opens_at'::timestamptz + interval '2 seconds') ->> 'position')::integer
           from app.queue_tickets t join fx_early e using (token) where t.status = 'WAITING'),
  1, 'and it is first in line');
select is((select array_agg((app.queue_status(token, :'opens_at'::timestamptz + interval '2 seconds') ->> 'position')::integer order by n)
           from fx_late),
  array[2, 3], 'the later ones follow in their order of arrival, with exact positions');

-- a fan who joins now queues behind all of them
select (app.queue_join(tests.user('after'), :concert_id, :'opens_at'::timestamptz + interval '3 seconds')).body as ticket \gset
select is(:'ticket'::jsonb -> 'position', '4'::jsonb, 'a join after the opening is 4th, behind everyone');
select is(:'ticket'::jsonb ->> 'saleOpensAt', app.iso(:'opens_at'), 'its Ticket still says when the sale opened');

select ok((select c.sale_cut > (select max(t.queue_no) from app.queue_tickets t join fx_early e using (token))
                  and c.sale_cut > (select max(t.queue_no) from app.queue_tickets t join fx_late l using (token))
                  and c.sale_cut <= (select t.queue_no from app.queue_tickets t join app.users u using (user_id)
                                     where t.concert_id = :concert_id and u.name = 'after')
           from app.concerts c where c.concert_id = :concert_id),
  'the opening''s cut lies past every ticket drawn before the opening run, and before the join after it');
select app.sale_status(:concert_id, :'opens_at'::timestamptz + interval '3 seconds') -> 'sales' -> 0 as sale \gset
select is((:'sale'::jsonb ->> 'state', :'sale'::jsonb ->> 'prequeued', :'sale'::jsonb ->> 'openedAt'),
  ('OPEN'::text, '4'::text, app.iso(:'opens_at'::timestamptz + interval '1 second')),
  'the sale is OPEN: 4 were pre-queued (one left), opened by the run');
select throws_ok(format('select api.sale_schedule(%s, now() + interval ''1 day'')', :concert_id), 'CR207', null,
  'an opened sale cannot be scheduled again');
select is((select count(*) from audit_new), 0::bigint, 'api.audit() finds nothing new: counters and watermark hold');

select * from finish();
rollback;
