-- api.sale_resume: a paused concert admits again, in order; a scheduled
-- opening that passed while paused is done at the first run after the resume.
begin;
select plan(14);

select tests.clear_queues();
select tests.setting('queue_active_cap', 1);
select tests.setting('waiting_idle_seconds', 3600);
select tests.setting('new_users_per_minute', 0);
select tests.concert() as concert_id \gset
select api.sale_schedule(:concert_id, now() + interval '10 minutes') \g /dev/null
create temp table fx_fans on commit drop as select * from tests.join_line(:concert_id, 3);
select api.sale_pause(:concert_id) \g /dev/null

select is(app.queue_admit(now() + interval '20 minutes'), 0, 'paused across its opening time: no opening, nobody admitted');
select is((select sale_opened_at from app.concerts where concert_id = :concert_id), null, 'the sale is not opened');
select is(app.queue_status((select token from fx_fans where n = 1), now() + interval '20 minutes') -> 'position', 'null'::jsonb,
  'the pre-queue still has no positions');

select app.sale_pause(:concert_id, false, now() + interval '20 minutes') as sale \gset
select is((:'sale'::jsonb ->> 'state', :'sale'::jsonb ->> 'paused'), ('OPENING'::text, 'false'::text),
  'resumed: OPENING (its time has passed), no longer paused');
select is(api.sale_resume(:concert_id) ->> 'paused', 'false', 'resuming again (api.sale_resume) changes nothing');
select is(app.queue_admit(now() + interval '21 minutes'), 1, 'the first run after the resume opens the sale and admits');
select is((select count(*) from app.queue_tickets t join fx_fans using (token) where t.status = 'WAITING'
           and (app.queue_status(t.token, now() + interval '21 minutes') ->> 'estimatedWaitSeconds') is not null),
  2::bigint, 'the two still waiting have positions and an estimated wait again');

-- A plain line (no scheduled opening): the first run after the resume
-- admits the first one waiting, not one behind them.
select tests.clear_queues();
select tests.concert() as plain \gset
create temp table fx_plain on commit drop as select * from tests.join_line(:plain, 4, now() + interval '30 minutes');
select is(app.queue_admit(now() + interval '30 minutes'), 1, 'a plain line: the first fan is admitted (cap 1)');
select api.sale_pause(:plain) \g /dev/null
select app.queue_leave(token, now() + interval '30 minutes 1 second') from fx_plain where n = 1 \g /dev/null
select is(app.queue_admit(now() + interval '30 minutes 2 seconds'), 0, 'paused: the slot the first fan freed stays free');
select is(api.sale_resume(:plain) ->> 'state', 'OPEN', 'resumed: OPEN');
select is(app.queue_admit(now() + interval '30 minutes 3 seconds'), 1, 'the first run after the resume admits one');
select is((select array_agg(t.status order by f.n) from fx_plain f join app.queue_tickets t using (token)),
  array['LEFT', 'ACTIVE', 'WAITING', 'WAITING'], 'the second fan, the first one waiting; the third and fourth still wait');

select throws_ok('select api.sale_resume(-1)', 'CR102', null, 'an unknown concert: CR102');
set local role boxoffice_api;
select throws_ok(format('select api.sale_resume(%s)', :concert_id), '42501', null, 'the server''s role may not resume a sale');
reset role;

select * from finish();
rollback;
