-- Joins count the line themselves (app.queue_count_help): a join whose
-- number lies app.queue_count_every() numbers or more past its concert's
-- counted part closes the line and counts the arrivals, whether admission
-- runs or not, so that no position counts a long tail on the index. Before
-- this, only admission counted, and with no run (or between two runs of an
-- on-sale) every join's position counted every ticket since the last count.
begin;
select plan(9);

select tests.clear_queues();
select tests.concert() as concert_id \gset
create temp table fx_users on commit drop as select * from tests.users(400, 'counting');
grant select on fx_users to boxoffice_api;

-- 399 joins, no admission run.
set local role boxoffice_api;
select count(*) as joined
from (select * from fx_users where n < 400 order by n) u
cross join lateral api.queue_join(u.user_id, :concert_id) j
where j.status = 201 \gset
reset role;
select is(:joined::bigint, 399::bigint, '399 joins');
select ok((select k.counted_below > (select min(t.queue_no) from app.queue_tickets t where t.concert_id = :concert_id)
           from app.queue_counted k where k.concert_id = :concert_id),
          'the joins counted arrivals, with no admission run');
select is((select a.admitted_upto from app.queues a where a.concert_id = :concert_id), 0::bigint,
          'and nobody was admitted');

-- 300 numbers handed out with no ticket (joins rolled back, other concerts'
-- joins): the next join lies past the counted part by more than
-- app.queue_count_every(). With the last close over 20 ms old, it closes
-- the line up to its own number and counts to the unit of 32 below it.
select count(nextval('app.queue_tickets_queue_no_seq')) from generate_series(1, 300) \g /dev/null
select ok(max(t.queue_no) + 300 - k.counted_below >= app.queue_count_every(),
          'the last number lies past the counted part by app.queue_count_every() or more')
from app.queue_tickets t, app.queue_counted k
where t.concert_id = :concert_id and k.concert_id = :concert_id
group by k.counted_below;
select pg_sleep(0.03);
set local role boxoffice_api;
select j.body->>'token' as last_token, (j.body->>'position')::bigint as last_position
from fx_users u cross join lateral api.queue_join(u.user_id, :concert_id) j
where u.n = 400 \gset
reset role;
select is((select k.counted_below from app.queue_counted k where k.concert_id = :concert_id),
          (select (t.queue_no + 1) / 32 * 32 from app.queue_tickets t where t.token = :'last_token'::uuid),
          'the last join counted the line up to the unit of 32 that holds its own number');
select is(:last_position::bigint, 400::bigint, 'its position counts the 399 ahead and none of the 300 gaps');

select is_empty('select * from api.audit()', 'the audit finds every counter exact');

-- A close that cannot move the line still records when it ran: the joins
-- that count close at most every 20 ms by it, and a line held by a join in
-- flight must not make each of them read pg_locks again at once.
update app.queue_line set closed_at = now() - interval '1 hour';
select closed_below as closed_before from app.queue_line \gset
select app.queue_line_close(interval '1 millisecond') \g /dev/null
select is((select closed_below from app.queue_line), :closed_before::bigint, 'with nothing new drawn the line stays');
select ok((select closed_at > now() - interval '1 minute' from app.queue_line), 'but the close is recorded as run');

select * from finish();
rollback;
