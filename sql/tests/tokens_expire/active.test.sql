-- api.tokens_expire: an ACTIVE token past expires_at is dead at once (CR302
-- at the gate), the sweep marks it EXPIRED, and its slot goes to the next in
-- line at the next admission.
begin;
select plan(9);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();

select tests.setting('queue_active_cap', 2);
select tests.setting('active_token_seconds', 600);
select tests.setting('waiting_idle_seconds', 3600);
select tests.concert() as concert_id \gset
-- three users join in turn (tokens t1..t3); the first two are admitted
select * from tests.queue_line(:concert_id, 3, 'expire') \gset

set local role boxoffice_api;
select api.queue_admit() as admitted \gset
-- the second one keeps its slot longer
reset role;
update app.queue_tickets set expires_at = now() + interval '900 seconds' where token = :'t2';

select is(app.tokens_expire(now() + interval '599 seconds'), 0, 'before its time nothing expires');
select lives_ok(format('select app.ticket_gate(%L, null, true, %L)', :'t1', now() + interval '599 seconds'),
  'the ACTIVE token works a second before its time');
select throws_ok(format('select app.ticket_gate(%L, null, true, %L)', :'t1', now() + interval '600 seconds'),
  'CR302', null, 'at its time the ACTIVE token is CR302 at the gate, before any sweep');
select throws_ok(format('select app.queue_status(%L, %L)', :'t1', now() + interval '600 seconds'),
  'CR302', null, 'and for queue_status');
set local role boxoffice_api;

reset role;
select is(app.tokens_expire(now() + interval '600 seconds'), 1, 'the sweep expires it');
select is((select array_agg((status, ended_at)::text order by queue_no) from app.queue_tickets where concert_id = :concert_id),
  array[('EXPIRED', now() + interval '600 seconds')::text, ('ACTIVE', null)::text, ('WAITING', null)::text],
  'EXPIRED and ended then; the others untouched');
select is(app.queue_admit(now() + interval '600 seconds'), 1, 'the next admission fills the slot');
select is(app.queue_status(:'t3', now() + interval '600 seconds')->>'status', 'ACTIVE', 'with the next in line');
select is(app.tokens_expire(now() + interval '600 seconds'), 0, 'a second sweep finds nothing');
set local role boxoffice_api;

select * from finish();
rollback;
