-- The admission counts the closed part of the line in units of 32: after a
-- run, counted_below is the closed part's end rounded down to 32 (not to a
-- block of 1 024), so a position counts on the index only the joins since
-- the run and fewer than 32 numbers; the blocks of 1 024 that the run
-- completes are counted whole, and positions stay exact.
begin;
select plan(6);

select tests.setting('queue_active_cap', 1);
select tests.concert() as concert_id \gset
create temp table fx_users on commit drop as select * from tests.users(1100, 'arrivals');
create temp table fx_tokens (n integer, token uuid) on commit drop;
grant select on fx_users to boxoffice_api;
grant select, insert on fx_tokens to boxoffice_api;

set local role boxoffice_api;
insert into fx_tokens
select u.n, (j.body->>'token')::uuid
from (select * from fx_users order by n) u
cross join lateral api.queue_join(u.user_id, :concert_id) j;
select api.queue_admit() as admitted \gset
reset role;

select is(:admitted, 1, 'the run admits the first of 1 100');
select is((select k.counted_below from app.queue_counted k where k.concert_id = :concert_id),
          (select l.closed_below / 32 * 32 from app.queue_line l),
          'counted_below is the closed part''s end rounded down to a unit of 32');
select ok((select l.closed_below - k.counted_below < 32
           from app.queue_line l, app.queue_counted k where k.concert_id = :concert_id),
          'fewer than 32 closed numbers are left for the index');
select ok((select count(*) > 0 from app.queue_arrivals a
           where a.concert_id = :concert_id and a.block_size = 1024),
          'the block of 1 024 the run completed is counted');

set local role boxoffice_api;
select is((select (api.queue_status(f.token)->>'position')::integer from fx_tokens f where f.n = 1100), 1099,
          'the last of 1 100 is 1 099th: counters and index tail add up');
reset role;
select is_empty('select * from api.audit()', 'the audit finds every arrival counter exact');

select * from finish();
rollback;
