-- api.queue_status is a poll: it records last_seen_at only when the stored
-- value is older than least(waiting_idle_seconds / 3, 30) seconds, and a user
-- who keeps polling keeps the place.
begin;
select plan(10);

select tests.concert() as concert_id \gset
-- one user joins: token t1
select * from tests.queue_line(:concert_id, 1, 'throttle') \gset
create temp table fx_polls (at_s integer, position integer) on commit drop;
grant insert on fx_polls to boxoffice_api;

-- default waiting_idle_seconds 300: throttle 30 s
select ctid::text as ctid_before from app.queue_tickets where token = :'t1' \gset
select app.queue_status(:'t1', now() + interval '29 seconds') \gset
select is((select last_seen_at from app.queue_tickets where token = :'t1'), now(),
  'a poll 29 s after the last record does not record it (throttle 30 s)');
select is((select ctid::text from app.queue_tickets where token = :'t1'), :'ctid_before',
  'and writes no new row version');
select app.queue_status(:'t1', now() + interval '31 seconds') \gset
select is((select last_seen_at from app.queue_tickets where token = :'t1'), now() + interval '31 seconds',
  'a poll 31 s after the last record records it');

-- waiting_idle_seconds 60: throttle 20 s
select tests.setting('waiting_idle_seconds', 60);
select app.queue_status(:'t1', now() + interval '50 seconds') \gset
select is((select last_seen_at from app.queue_tickets where token = :'t1'), now() + interval '31 seconds',
  'with waiting_idle_seconds 60, a poll 19 s later writes nothing');
select app.queue_status(:'t1', now() + interval '52 seconds') \gset
select is((select last_seen_at from app.queue_tickets where token = :'t1'), now() + interval '52 seconds',
  'and a poll 21 s later records it');
select app.queue_status(:'t1', now() + interval '40 seconds') \gset
select is((select last_seen_at from app.queue_tickets where token = :'t1'), now() + interval '52 seconds',
  'a poll dated before the last record never moves it back');

-- polling every 25 s for ten minutes keeps the place with waiting_idle_seconds 60
insert into fx_polls
select s, (app.queue_status(:'t1', now() + interval '52 seconds' + make_interval(secs => s))->>'position')::integer
from generate_series(25, 600, 25) s
order by s;
select is((select count(*) from fx_polls where position = 1), 24::bigint,
  'a user polling every 25 s for ten minutes keeps position 1');
select is((select status from app.queue_tickets where token = :'t1'), 'WAITING', 'and stays WAITING');
select cmp_ok((select last_seen_at from app.queue_tickets where token = :'t1'), '>=', now() + interval '52 seconds' + interval '580 seconds',
  'last_seen_at followed the polls (at most one throttle behind)');
select throws_ok(format('select app.queue_status(%L, %L)', :'t1', now() + interval '52 seconds' + interval '600 seconds' + interval '60 seconds'),
  'CR302', null, 'a minute after the user stopped polling, the token is CR302');
set local role boxoffice_api;

select * from finish();
rollback;
