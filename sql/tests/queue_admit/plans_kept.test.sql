-- Admission keeps its plans for the session, and they read the line through
-- its indexes. app.queue_admit_next used to say plan_cache_mode =
-- force_custom_plan (its claims' generic plans could scan the table) and so
-- planned its dozen statements again for every concert of every run: about
-- 3 ms a concert, 0.7-1 s a run over 200 concerts with a line. It now says
-- only enable_seqscan = off, which rules those plans out. Here, in one
-- session, with statistics from before the lines were there: 40 concerts
-- with a line of 20 are admitted (cap 5) twice over, past the plan cache's
-- five custom plans; each admits its first five, in order, and nothing reads
-- app.queue_tickets sequentially.
begin;
select plan(6);

select tests.clear_queues();
select tests.setting('queue_active_cap', 5);
select tests.setting('active_token_seconds', 600);
create temp table fx_concerts on commit drop as
select g as i, tests.concert() as concert_id from generate_series(1, 40) g;
-- statistics of an empty line
analyze app.queue_tickets;
create temp table fx_users on commit drop as select * from tests.users(800, 'plans');
select count(*)
from fx_users u
join fx_concerts c on c.i = 1 + (u.n - 1) % 40
cross join lateral app.queue_join(u.user_id, c.concert_id, now()) j \g /dev/null

select ok(not coalesce('plan_cache_mode=force_custom_plan' = any (p.proconfig), false),
          'app.queue_admit_next keeps its plans (no force_custom_plan)')
from pg_proc p where p.oid = 'app.queue_admit_next(bigint, bigint, timestamptz)'::regprocedure;

select * from tests.table_reads('queue_tickets') \gset before_
select api.queue_admit() as first_run \gset
select api.queue_admit() as second_run \gset
select * from tests.table_reads('queue_tickets') \gset after_

select is(:first_run, 200, 'the first run admits five in each of the 40 concerts');
select is(:second_run, 0, 'the second finds every cap full');
select is((select count(*) from (
             select t.concert_id,
                    bool_and(t.status = 'ACTIVE') filter (where t.rn <= 5) as first_five,
                    bool_and(t.status = 'WAITING') filter (where t.rn > 5) as rest_waiting
             from (select t.*, row_number() over (partition by t.concert_id order by t.queue_no) as rn
                   from app.queue_tickets t join fx_concerts c on c.concert_id = t.concert_id) t
             group by t.concert_id) x
           where x.first_five and x.rest_waiting), 40::bigint,
          'in every concert, the first five in arrival order are ACTIVE and the rest WAITING');
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'no run read app.queue_tickets sequentially');

-- Joins into other concerts move the shared sequence and the closed part of
-- the line on; a run then finds nothing new to count in these 40 and
-- rewrites none of their rows (it used to rewrite each concert's counted
-- part on every run: a write per concert with a line, every second).
-- (first every ticket of theirs counted: 32 numbers on, past the last unit)
select count(nextval('app.queue_tickets_queue_no_seq')) from generate_series(1, 32) \g /dev/null
select app.queue_line_close(interval '1 second') \g /dev/null
select api.queue_admit() \g /dev/null
create temp table fx_counted on commit drop as
select k.concert_id, k.ctid::text as row_version from app.queue_counted k join fx_concerts c using (concert_id);
select count(nextval('app.queue_tickets_queue_no_seq')) from generate_series(1, 500) \g /dev/null
select app.queue_line_close(interval '1 second') \g /dev/null
select api.queue_admit() \g /dev/null
select is((select count(*) from fx_counted f join app.queue_counted k using (concert_id)
           where k.ctid::text <> f.row_version), 0::bigint,
          'a run after other concerts'' joins rewrites none of these concerts'' counted parts');

select * from finish();
rollback;
