-- Positions stay exact with departures all along a long line: the position
-- subtracts the departures between the watermark and the ticket from
-- per-block counters (app.queue_blocks: blocks of 1 024 and groups of 32 768
-- queue numbers, app.queue_departed), kept by every path that ends a WAITING
-- ticket. Checked against recounts over the whole line: after leaves spread
-- over every block and on the block and group boundaries, after a mass idle
-- expiry, after a dead ticket is ended by a rejoin, and after admission has
-- passed blocks and a group boundary (and expired idle tickets on its way).
begin;
select plan(27);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();
select tests.setting('waiting_idle_seconds', 300);
select tests.concert() as concert_id \gset
-- Queue numbers 30 001 .. 100 000 (everyone before is through the line):
-- blocks 29 .. 97, groups 0 .. 3, past the group boundaries 32 768, 65 536
-- and 98 304.
select tests.long_line(:concert_id, 30001, 100000) as line \gset

-- The tickets whose positions are compared with a recount: both sides of the
-- block and group boundaries, and one in every 997 queue numbers.
create temp table fx_probe_nos on commit drop as
select unnest(array[30001, 30002, 30719, 30720, 31743, 31744, 31745, 32766, 32767, 32768, 32769, 32770,
                    33791, 33792, 40959, 40960, 41983, 41984, 41985, 65534, 65535, 65536, 65537,
                    98303, 98304, 98305, 99999, 100000])::bigint as queue_no
union
select g * 997 from generate_series(31, 100) g;
-- Watched tickets: their users poll at every step.
create temp table fx_watched on commit drop as
select case t.queue_no when 36000 then 'front' else 'back' end as which, t.token
from app.queue_tickets t where t.concert_id = :concert_id and t.queue_no in (36000, 99991);
create temp table fx_watch (step integer, which text, position bigint, recount bigint) on commit drop;

-- How many probed WAITING tickets get a position (api.queue_status) other
-- than 1 + the WAITING tickets ahead, recounted over the whole line; and how
-- many were probed.
create function pg_temp.positions_wrong(concert_id bigint, out wrong bigint, out probed bigint)
language sql as $$
  with w as (
    select t.token, t.queue_no, row_number() over (order by t.queue_no) as recount
    from app.queue_tickets t
    where t.concert_id = positions_wrong.concert_id and t.status = 'WAITING')
  select count(*) filter (where (api.queue_status(w.token)->>'position')::bigint <> w.recount), count(*)
  from w join fx_probe_nos p on p.queue_no = w.queue_no
$$;
-- How many (after_no, before_no) pairs, after_no from the watermark on, get
-- another app.queue_departed than a count of the departed tickets between;
-- and how many pairs there were.
create function pg_temp.departed_wrong(concert_id bigint, out wrong bigint, out pairs bigint)
language sql as $$
  with q as (select q.admitted_upto as w from app.queues q where q.concert_id = departed_wrong.concert_id),
  ends as (
    select unnest(array[30000, 30001, 31743, 31744, 32767, 32768, 32769, 40000, 41984, 65535, 65536, 65537,
                        70001, 98303, 98304, 98305, 100001])::bigint as no),
  pairs as (
    select a.no as after_no, b.no as before_no
    from ends a cross join ends b cross join q
    where a.no < b.no and a.no >= q.w
    union
    select q.w, b.no from q cross join ends b where b.no > q.w
    union
    select q.w, q.w + d from q cross join generate_series(1, 3) d)
  select count(*) filter (where app.queue_departed(departed_wrong.concert_id, p.after_no, p.before_no)
                                <> (select count(*) from app.queue_tickets t
                                    where t.concert_id = departed_wrong.concert_id
                                      and t.queue_no > p.after_no and t.queue_no < p.before_no
                                      and t.activated_at is null and t.status <> 'WAITING')),
         count(*)
  from pairs p
$$;
-- Counters of the concert that differ from a recount of its departures, in
-- every span (only right while every departure was above the watermark).
create function pg_temp.counters_wrong(concert_id bigint) returns bigint
language sql as $$
  select count(*)
  from (select b.block_size, b.block_no, b.departed from app.queue_blocks b
        where b.concert_id = counters_wrong.concert_id) k
  full join (select s.block_size, t.queue_no / s.block_size as block_no, count(*) as departed
             from app.queue_tickets t cross join (values (1024), (32768)) s(block_size)
             where t.concert_id = counters_wrong.concert_id
               and t.activated_at is null and t.status <> 'WAITING'
             group by 1, 2) r on r.block_size = k.block_size and r.block_no = k.block_no
  where k.departed is distinct from r.departed
$$;
create function pg_temp.watch(step integer) returns void
language sql as $$
  insert into fx_watch
  select watch.step, x.which, (api.queue_status(t.token)->>'position')::bigint,
         1 + (select count(*) from app.queue_tickets w
              where w.concert_id = t.concert_id and w.status = 'WAITING' and w.queue_no < t.queue_no)
  from fx_watched x
  join app.queue_tickets t on t.token = x.token
$$;

select pg_temp.watch(1);

-- 1. Leaves through api.queue_leave: every 101st ticket, in all 69 blocks,
-- and the tickets on the boundaries. (Called as the superuser, as the
-- tokens come from the table; api.queue_leave is SECURITY DEFINER anyway.)
select count(*) as left_line
from app.queue_tickets t cross join lateral (select api.queue_leave(t.token)) l
where t.concert_id = :concert_id
  and (t.queue_no % 101 = 0
       or t.queue_no in (31743, 31744, 32767, 32768, 32769, 65535, 65536, 98303, 98304, 98305)) \gset
select pg_temp.watch(2);

select is(:left_line::bigint, 703::bigint, '703 tickets left the line');
select * from pg_temp.positions_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('after the leaves, %s probed positions equal a recount of the line', :probed));
select * from pg_temp.departed_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('app.queue_departed is exact for %s pairs of ends, within a block, across blocks and groups', :pairs));
select is(pg_temp.counters_wrong(:concert_id), 0::bigint, 'every counter equals a recount of its span');
select is((select string_agg(b.block_no::text, ',' order by b.block_no) from app.queue_blocks b
           where b.concert_id = :concert_id and b.block_size = 32768),
  '0,1,2,3', 'a counter for each group of 32 768 the leaves fell in');
select is((select count(*) from app.queue_blocks b where b.concert_id = :concert_id and b.block_size = 1024),
  69::bigint, 'and for each of the 69 blocks of 1 024');

-- 2. A mass idle expiry: all of block 40 (40 960 .. 41 983) and every 7th
-- ticket of 70 000 .. 80 000 stop polling, then one api.tokens_expire run.
update app.queue_tickets t set last_seen_at = now() - interval '1 hour'
where t.concert_id = :concert_id and t.status = 'WAITING'
  and (t.queue_no between 40960 and 41983 or (t.queue_no between 70000 and 80000 and t.queue_no % 7 = 3));
select count(*) as idle from app.queue_tickets t
where t.concert_id = :concert_id and t.status = 'WAITING' and t.last_seen_at < now() \gset
select is(api.tokens_expire(), :idle::integer, format('one sweep expires the %s idle tickets', :idle));
select pg_temp.watch(3);
select * from pg_temp.positions_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('after the mass expiry, %s probed positions equal a recount', :probed));
select * from pg_temp.departed_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('app.queue_departed is exact for %s pairs of ends', :pairs));
select is(pg_temp.counters_wrong(:concert_id), 0::bigint, 'every counter equals a recount of its span');
select is((select b.departed from app.queue_blocks b
           where b.concert_id = :concert_id and b.block_size = 1024 and b.block_no = 40),
  1024::bigint, 'block 40 counts all its 1 024 tickets gone');

-- 3. A user whose ticket went idle joins again: api.queue_join ends the dead
-- ticket (a departure) and puts a new one at the back.
update app.queue_tickets t set last_seen_at = now() - interval '1 hour'
where t.concert_id = :concert_id and t.queue_no = 50001;
select status as rejoin_status from api.queue_join(
  (select user_id from app.queue_tickets where concert_id = :concert_id and queue_no = 50001), :concert_id) \gset
select is(:rejoin_status, 201, 'the rejoin makes a new ticket');
select is((select status from app.queue_tickets where concert_id = :concert_id and queue_no = 50001), 'EXPIRED',
  'the dead one is EXPIRED');
select pg_temp.watch(4);
select is(pg_temp.counters_wrong(:concert_id), 0::bigint, 'and counted: every counter equals a recount');
select * from pg_temp.positions_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('%s probed positions equal a recount', :probed));

-- 4. Admission passes blocks and the group boundary 32 768, expiring the idle
-- tickets 30 500 .. 30 600 and 33 800 .. 33 900 on its way. It does not count
-- those: they end up behind the watermark it sets, the second ones in the
-- block and group that hold it, whose counters no position reads.
update app.queue_tickets t set last_seen_at = now() - interval '1 hour'
where t.concert_id = :concert_id and t.status = 'WAITING'
  and (t.queue_no between 30500 and 30600 or t.queue_no between 33800 and 33900);
select tests.setting('queue_active_cap', 4000);
select is(api.queue_admit(), 4000, 'admission admits 4 000');
select admitted_upto as upto from app.queues where concert_id = :concert_id \gset
select ok(:upto > 33900, format('the watermark (%s) passed 5 blocks, the group boundary 32 768 and the idle tickets', :upto));
select pg_temp.watch(5);
select * from pg_temp.positions_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('after admission, %s probed positions equal a recount', :probed));
select * from pg_temp.departed_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('app.queue_departed from the new watermark is exact for %s pairs of ends', :pairs));
select is_empty(format('select * from api.audit() where invariant = %L and subject like %L',
                       'queue_block_departed', 'concert ' || :concert_id || ' %'),
  'every counter a position may read equals a recount (api.audit)');
select is((select count(*) from app.queue_blocks b
           where b.concert_id = :concert_id and (b.block_no + 1) * b.block_size <= :upto + 1),
  0::bigint, 'the counters of spans wholly behind the watermark are gone');

-- 5. Idle tickets just past the new watermark, in its block (whose counter
-- does not count the tickets admission expired there), and an ACTIVE ticket
-- leaving, which is no departure.
update app.queue_tickets t set last_seen_at = now() - interval '1 hour'
where t.concert_id = :concert_id and t.status = 'WAITING'
  and t.queue_no > :upto and t.queue_no < (:upto / 1024 + 1) * 1024 and t.queue_no % 3 = 0;
select ok(api.tokens_expire() > 0, 'a sweep right past the watermark');
select sum(departed) as counted_before from app.queue_blocks where concert_id = :concert_id \gset
select api.queue_leave((select token from app.queue_tickets
                        where concert_id = :concert_id and status = 'ACTIVE' order by queue_no desc limit 1)) \gset
select is((select sum(departed) from app.queue_blocks where concert_id = :concert_id), :counted_before::numeric,
  'an ACTIVE ticket leaving counts no departure');
select pg_temp.watch(6);
select * from pg_temp.positions_wrong(:concert_id) \gset
select is(:wrong::bigint, 0::bigint, format('%s probed positions equal a recount', :probed));
select is_empty(format('select * from api.audit() where invariant = %L and subject like %L',
                       'queue_block_departed', 'concert ' || :concert_id || ' %'),
  'and the counters a position may read equal a recount');

-- The watched users, polling all along.
select is((select count(*) from fx_watch where position <> recount), 0::bigint,
  'the watched tickets'' positions were exact at every step');
select ok((select bool_and(a.position >= b.position) from fx_watch a
           join fx_watch b on b.which = a.which and b.step = a.step + 1),
  format('and never went up: %s', (select string_agg(which || ' ' || position, ', ' order by which, step) from fx_watch)));

select * from finish();
rollback;
