-- The event streams' fan-out trusts one invariant: a WAITING ticket's place is
-- above its concert's watermark, and an admitted ticket's is at or below it.
-- Checked here through the API alone (joins, admission, leaves), so that a
-- change of the waiting room that breaks it fails this file.
begin;
select plan(12);

select tests.clear_queues();
select tests.setting('waiting_idle_seconds', 300);
select tests.concert() as concert_id \gset
select tests.concert() as other_id \gset
select * from tests.queue_line(:concert_id, 5, 'fan') \gset

set local role boxoffice_api;
select is(api.queue_events_watermark(:other_id), null::bigint, 'a concert without a line has no watermark');
select is(api.queue_events_place('00000000-0000-0000-0000-000000000000'), null::bigint, 'an unknown token has no place');
select ok(api.queue_events_place(:'t1') < api.queue_events_place(:'t2')
          and api.queue_events_place(:'t2') < api.queue_events_place(:'t5'), 'places follow arrival order');
select ok(api.queue_events_watermark(:concert_id) < api.queue_events_place(:'t1'),
  'before any admission every WAITING place is above the watermark');

select api.queue_events_place(:'t3') as place3 \gset
select api.queue_leave(:'t1');
reset role;  -- the policy is the owner's
select tests.setting('queue_active_cap', 2);
set local role boxoffice_api;
select is(api.queue_admit(), 2, 'two admitted (the first in line left)');
select is(api.queue_status(:'t3')->>'status', 'ACTIVE', 'the third is admitted');
select ok(api.queue_events_watermark(:concert_id) >= :place3, 'the watermark reached the admitted places');
select ok(api.queue_events_watermark(:concert_id) < api.queue_events_place(:'t4'),
  'the next WAITING place is still above it');
select is(api.queue_events_place(:'t2'), null::bigint, 'an admitted ticket has no place any more');
select is(api.queue_events_place(:'t1'), null::bigint, 'a ticket that left has none either');

-- read only: no poll recorded
reset role;
update app.queue_tickets set last_seen_at = now() - interval '200 seconds' where token = :'t5';
set local role boxoffice_api;
select api.queue_events_place(:'t5');
reset role;
select ok((select last_seen_at < now() - interval '100 seconds' from app.queue_tickets where token = :'t5'),
  'reading the place records no poll');
select is(
  (select provolatile from pg_proc where oid = 'api.queue_events_watermark(bigint)'::regprocedure)::text, 's',
  'the watermark read is STABLE');

select * from finish();
rollback;
