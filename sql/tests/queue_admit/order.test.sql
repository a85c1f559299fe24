-- api.queue_admit admits strictly in arrival order, up to the cap: nobody is
-- ever ACTIVE while an earlier ticket still waits, however the ACTIVE ones
-- leave, expire or are used up.
begin;
select plan(13);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();

select tests.setting('queue_active_cap', 5);
select tests.setting('active_token_seconds', 600);
select tests.setting('waiting_idle_seconds', 3600);
select tests.concert() as concert_id \gset
create temp table fx_users on commit drop as select * from tests.users(20, 'admit order');
create temp table fx_tokens (n integer, token uuid) on commit drop;
grant select on fx_users to boxoffice_api;
grant select, insert on fx_tokens to boxoffice_api;

-- no ticket admitted (ACTIVE, USED, or expired after admission) above a WAITING one
create temp view fx_out_of_order as
select count(*) as n
from app.queue_tickets a
join app.queue_tickets w on w.concert_id = a.concert_id and w.status = 'WAITING' and w.queue_no < a.queue_no
where a.concert_id = :concert_id and a.activated_at is not null;

set local role boxoffice_api;
insert into fx_tokens
select u.n, (j.body->>'token')::uuid
from (select * from fx_users order by n) u
cross join lateral api.queue_join(u.user_id, :concert_id) j;

select is(api.queue_admit(), 5, 'the first admission admits the cap, 5');
reset role;
select is((select array_agg(f.n order by f.n) from fx_tokens f join app.queue_tickets t using (token) where t.status = 'ACTIVE'),
  array[1, 2, 3, 4, 5]::integer[], 'the first five in line');
select ok((select bool_and(t.activated_at = now() and t.expires_at = now() + interval '600 seconds'
                           and t.ended_at is null)
           from app.queue_tickets t where t.concert_id = :concert_id and t.status = 'ACTIVE'),
  'activated now, expiring after active_token_seconds');
select is(tests.watermark(:concert_id), 5::bigint, 'the watermark is 5');
select is((select n from fx_out_of_order), 0::bigint, 'nobody ACTIVE while an earlier one waits');

-- 2 leaves, 4 is used up, and WAITING 7 leaves: two slots, for 6 and 8
set local role boxoffice_api;
select api.queue_leave(token) from fx_tokens where n = 2 \gset
select api.queue_leave(token) from fx_tokens where n = 7 \gset
reset role;
update app.queue_tickets set status = 'USED', ended_at = now() where token = (select token from fx_tokens where n = 4);
set local role boxoffice_api;
select is(api.queue_admit(), 2, 'two freed slots, two admitted');
reset role;
select is((select array_agg(f.n order by f.n) from fx_tokens f join app.queue_tickets t using (token) where t.status = 'ACTIVE'),
  array[1, 3, 5, 6, 8]::integer[], 'the next two still in line: 6 and 8 (7 left)');
select is(tests.watermark(:concert_id), 8::bigint, 'the watermark is 8');
select is((select n from fx_out_of_order), 0::bigint, 'still nobody ACTIVE while an earlier one waits');

-- all five run out: the next five, 9..13, even before the sweep
select is(app.queue_admit(now() + interval '600 seconds'), 5, 'when the ACTIVE tokens run out, five more are admitted');
select is((select array_agg(f.n order by f.n) from fx_tokens f join app.queue_tickets t using (token)
           where t.status = 'ACTIVE' and t.expires_at > now() + interval '600 seconds'),
  array[9, 10, 11, 12, 13]::integer[], 'and they are 9 to 13');
select is((select n from fx_out_of_order), 0::bigint, 'still in order');
select is(app.queue_admit(now() + interval '600 seconds'), 0, 'with the cap full, nobody more');
set local role boxoffice_api;

select * from finish();
rollback;
