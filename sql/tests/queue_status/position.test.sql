-- The position of a WAITING ticket follows the line and never goes up while
-- its user polls, whatever others do: join behind, leave, go idle, get
-- admitted, use up or give up their slots.
begin;
select plan(4);

select tests.setting('queue_active_cap', 3);
select tests.setting('waiting_idle_seconds', 300);
select tests.concert() as concert_id \gset
create temp table fx_users on commit drop as select * from tests.users(12, 'position');
create temp table fx_tokens (n integer, token uuid) on commit drop;
create temp table fx_positions (step integer, position integer) on commit drop;
grant select on fx_users to boxoffice_api;
grant select, insert on fx_tokens, fx_positions to boxoffice_api;

set local role boxoffice_api;
insert into fx_tokens
select u.n, (j.body->>'token')::uuid
from (select * from fx_users where n <= 10 order by n) u
cross join lateral api.queue_join(u.user_id, :concert_id) j;
select token as t8 from fx_tokens where n = 8 \gset
select token as t1 from fx_tokens where n = 1 \gset
select token as t2 from fx_tokens where n = 2 \gset
select token as t3 from fx_tokens where n = 3 \gset
select token as t7 from fx_tokens where n = 7 \gset
select token as t10 from fx_tokens where n = 10 \gset

insert into fx_positions values (1, (api.queue_status(:'t8')->>'position')::integer);
-- two more join behind
select count(*) as joined from (select * from fx_users where n in (11, 12) order by n) u
  cross join lateral api.queue_join(u.user_id, :concert_id) j \gset
insert into fx_positions values (2, (api.queue_status(:'t8')->>'position')::integer);
-- the third leaves
select api.queue_leave(:'t3') \gset
insert into fx_positions values (3, (api.queue_status(:'t8')->>'position')::integer);
-- admission: 1, 2 and 4 become ACTIVE; 5, 6, 7 are ahead
select api.queue_admit() as admitted \gset
insert into fx_positions values (4, (api.queue_status(:'t8')->>'position')::integer);
-- the sixth stops polling: still counted until the sweep
reset role;
update app.queue_tickets set last_seen_at = now() - interval '1 hour'
where token = (select token from fx_tokens where n = 6);
set local role boxoffice_api;
insert into fx_positions values (5, (api.queue_status(:'t8')->>'position')::integer);
select api.tokens_expire() as expired \gset
insert into fx_positions values (6, (api.queue_status(:'t8')->>'position')::integer);
-- an ACTIVE one leaves, another is used up by a payment; others poll
select api.queue_leave(:'t2') \gset
reset role;
update app.queue_tickets set status = 'USED', ended_at = now() where token = :'t1';
set local role boxoffice_api;
select count(*) as polled from fx_tokens f cross join lateral api.queue_status(f.token) s where f.n in (5, 7, 9) \gset
insert into fx_positions values (7, (api.queue_status(:'t8')->>'position')::integer);
-- admission fills the two slots: 5 and 7 (6 is gone)
select api.queue_admit() as admitted \gset
insert into fx_positions values (8, (api.queue_status(:'t8')->>'position')::integer);
-- the one behind leaves; a new user joins behind
select api.queue_leave(:'t10') \gset
select api.queue_join((select user_id from fx_users where n = 3), :concert_id) \gset
insert into fx_positions values (9, (api.queue_status(:'t8')->>'position')::integer);
-- the cap is full: admission admits nobody
select api.queue_admit() as admitted \gset
insert into fx_positions values (10, (api.queue_status(:'t8')->>'position')::integer);
reset role;

select is((select array_agg(position order by step) from fx_positions),
  array[8, 8, 7, 4, 4, 3, 3, 1, 1, 1],
  'the eighth ticket''s position follows the line');
select ok((select bool_and(p.position <= q.position)
           from fx_positions p join fx_positions q on q.step = p.step - 1),
  'and never goes up from one poll to the next');
select is((select count(*) from app.queue_tickets t
           where t.concert_id = :concert_id and t.status = 'WAITING' and t.queue_no < (select queue_no from app.queue_tickets where token = :'t8')),
  0::bigint, 'position 1: no WAITING ticket is ahead');
select is(tests.watermark(:concert_id),
  (select tests.queue_rank(:concert_id, queue_no) - 1 from app.queue_tickets where token = :'t8'),
  'the watermark stands just below the first WAITING ticket');

select * from finish();
rollback;
