-- api.tokens_expire counts the idle WAITING tickets it expires in the
-- departure counters of their concerts (app.queue_blocks), in the same
-- transaction and one update per block and group: a crowd walking away from
-- two long lines at once, more than one run's batch of 10 000.
begin;
select plan(9);

-- The job functions count over the whole database: take the lines of other
-- concerts out of the picture (rolled back at the end).
select tests.clear_queues();
select tests.setting('waiting_idle_seconds', 300);
select tests.concert() as c1 \gset
select tests.concert() as c2 \gset
select tests.long_line(:c1, 1, 40000) as line1 \gset
select tests.long_line(:c2, 1, 20000) as line2 \gset
-- Every third ticket of the first line and every second of the other stops polling.
update app.queue_tickets t set last_seen_at = now() - interval '1 hour'
where (t.concert_id = :c1 and t.queue_no % 3 = 0) or (t.concert_id = :c2 and t.queue_no % 2 = 0);
select count(*) as idle from app.queue_tickets where last_seen_at < now() and status = 'WAITING' \gset

-- Counters of the two lines that differ from a recount of their departures.
create function pg_temp.counters_wrong(c1 bigint, c2 bigint) returns bigint
language sql as $$
  select count(*)
  from (select b.concert_id, b.block_size, b.block_no, b.departed from app.queue_blocks b
        where b.concert_id in (counters_wrong.c1, counters_wrong.c2)) k
  full join (select t.concert_id, s.block_size, t.queue_no / s.block_size as block_no, count(*) as departed
             from app.queue_tickets t cross join (values (1024), (32768)) s(block_size)
             where t.concert_id in (counters_wrong.c1, counters_wrong.c2)
               and t.activated_at is null and t.status <> 'WAITING'
             group by 1, 2, 3) r
    on r.concert_id = k.concert_id and r.block_size = k.block_size and r.block_no = k.block_no
  where k.departed is distinct from r.departed
$$;

select is(:idle::bigint, 23333::bigint, '23 333 idle tickets in the two lines');
select is(api.tokens_expire(), 10000, 'the first run expires a batch of 10 000');
select is(pg_temp.counters_wrong(:c1, :c2), 0::bigint, 'and counts them: every counter of both lines equals a recount');
select is((select count(*) from app.queue_blocks where concert_id in (:c1, :c2)),
  (select count(distinct (t.concert_id, t.queue_no / 1024)) + count(distinct (t.concert_id, t.queue_no / 32768))
   from app.queue_tickets t where t.concert_id in (:c1, :c2) and t.status = 'EXPIRED'),
  'one row per block and group that had a departure');
select is(api.tokens_expire(), 10000, 'the second run 10 000 more');
select is(api.tokens_expire(), 3333, 'the third the rest');
select is(pg_temp.counters_wrong(:c1, :c2), 0::bigint, 'every counter still equals a recount');
select is((select sum(departed) from app.queue_blocks where concert_id = :c1 and block_size = 32768),
  13333::numeric, 'the groups of the first line add up to its 13 333 departures');
select is((api.queue_status((select token from app.queue_tickets where concert_id = :c1 and queue_no = 39998))->>'position')::bigint,
  (select count(*) from app.queue_tickets where concert_id = :c1 and status = 'WAITING' and queue_no < 39998) + 1,
  'the last but one in the first line has the position of a recount');

select * from finish();
rollback;
