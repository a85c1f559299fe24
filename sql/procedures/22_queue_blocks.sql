-- The waiting room's departure counters (app.queue_blocks, see
-- sql/migrations/0004_queue_blocks.sql): how many tickets left a concert's
-- line without being admitted (LEFT, or EXPIRED while WAITING), per block of
-- 1 024 queue numbers and per group of 32 768 (32 blocks). A position
-- (app.ticket_json) subtracts the departures between the watermark and the
-- ticket; app.queue_departed sums them from at most 31 group rows, 62 block
-- rows and the two partial blocks at the ends, counted on
-- queue_tickets_concert_id_queue_no_departed_idx (at most 1 023 entries
-- each), so a poll costs the same however many tickets left ahead of it.
--
-- Every path that ends a WAITING ticket calls app.queue_blocks_add in the
-- same transaction: api.queue_leave, api.tokens_expire (idle expiry) and
-- api.queue_join (a dead ticket ended before a new one is made).
-- api.queue_admit's idle expiries are the exception: they lie at or below
-- the watermark it sets in the same transaction, where no position looks.
--
-- Locks: app.queue_blocks_add takes its rows in (concert_id, block_size,
-- block_no) order, and every caller calls it after its last ticket lock and
-- at most once per transaction, so counter rows cannot deadlock among
-- themselves nor with the ticket locks. A departure holds its one block row
-- and one group row until it commits; an expiry sweep holds one row per
-- block and group it touched (one batched update each, however many
-- tickets), so a leave in such a block waits for the sweep's commit at most.

-- Counts departures: one per element of queue_nos, in the line of the
-- concert at the same index of concert_ids.
create or replace function app.queue_blocks_add(concert_ids bigint[], queue_nos bigint[])
returns void
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
begin
  -- ORDER BY: the rows are locked in the order of the primary key, the same
  -- in every transaction. Grouped first: one update per row, however many
  -- departures it gets.
  insert into app.queue_blocks as b (concert_id, block_size, block_no, departed)
  select d.concert_id, s.block_size, d.queue_no / s.block_size, count(*)
  from unnest(queue_blocks_add.concert_ids, queue_blocks_add.queue_nos) d(concert_id, queue_no)
  cross join unnest(array[1024, 32768]) s(block_size)
  group by d.concert_id, s.block_size, d.queue_no / s.block_size
  order by d.concert_id, s.block_size, d.queue_no / s.block_size
  on conflict on constraint queue_blocks_pkey do update set departed = b.departed + excluded.departed;
end
$$;

comment on function app.queue_blocks_add(bigint[], bigint[]) is
'Counts departures (tickets that left the line without being admitted) in app.queue_blocks: queue_nos[i] of
concert concert_ids[i], in its block of 1 024 and its group of 32 768 queue numbers. Call it once per
transaction, after the tickets are updated; it locks its rows in primary key order.';

-- How many tickets of the concert with after_no < queue_no < before_no left
-- the line without being admitted. Exact when after_no is at or above the
-- concert's watermark (the counters of the span that holds the watermark,
-- and of those behind it, are not read). Stable: it reads the snapshot of
-- the statement that calls it, the same as the watermark's there.
create or replace function app.queue_departed(concert_id bigint, after_no bigint, before_no bigint)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_block constant bigint := 1024::bigint;
  v_group constant bigint := 32768::bigint;
  v_per_group constant bigint := 32::bigint;
  -- the block and group of each end
  v_bw bigint := queue_departed.after_no / v_block;
  v_bq bigint := queue_departed.before_no / v_block;
  v_gw bigint := queue_departed.after_no / v_group;
  v_gq bigint := queue_departed.before_no / v_group;
  v_count bigint;
begin
  if queue_departed.before_no - queue_departed.after_no <= 1 then
    return 0::bigint;
  end if;
  if v_bw = v_bq then
    -- one partial block: the index alone (at most 1 023 entries)
    select count(*) into v_count
    from app.queue_tickets d
    where d.concert_id = queue_departed.concert_id
      and d.queue_no > queue_departed.after_no and d.queue_no < queue_departed.before_no
      and d.activated_at is null and d.status <> 'WAITING';
    return v_count;
  end if;
  -- after_no | rest of its block | rest of its group's blocks | whole groups |
  -- first blocks of before_no's group | start of its block | before_no.
  -- When both ends are in one group, the two block sums cover the blocks in
  -- between once (the second one is empty) and the group sum is empty.
  select
    (select count(*)
     from app.queue_tickets d
     where d.concert_id = queue_departed.concert_id
       and d.queue_no > queue_departed.after_no and d.queue_no < (v_bw + 1) * v_block
       and d.activated_at is null and d.status <> 'WAITING')
    + (select count(*)
       from app.queue_tickets d
       where d.concert_id = queue_departed.concert_id
         and d.queue_no >= v_bq * v_block and d.queue_no < queue_departed.before_no
         and d.activated_at is null and d.status <> 'WAITING')
    + (select coalesce(sum(b.departed), 0)::bigint
       from app.queue_blocks b
       where b.concert_id = queue_departed.concert_id and b.block_size = v_block
         and b.block_no > v_bw and b.block_no < least(v_bq, (v_gw + 1) * v_per_group))
    + (select coalesce(sum(b.departed), 0)::bigint
       from app.queue_blocks b
       where b.concert_id = queue_departed.concert_id and b.block_size = v_block
         and b.block_no >= greatest(v_gq, v_gw + 1) * v_per_group and b.block_no < v_bq)
    + (select coalesce(sum(b.departed), 0)::bigint
       from app.queue_blocks b
       where b.concert_id = queue_departed.concert_id and b.block_size = v_group
         and b.block_no > v_gw and b.block_no < v_gq)
    into v_count;
  return v_count;
end
$$;

comment on function app.queue_departed(bigint, bigint, bigint) is
'How many tickets of concert_id with after_no < queue_no < before_no left the line without being admitted
(LEFT, or EXPIRED while WAITING), exact for after_no at or above the concert''s admitted_upto: at most 31 group
and 62 block counters of app.queue_blocks plus the two partial blocks at the ends on
queue_tickets_concert_id_queue_no_departed_idx, whatever the number of departures.';

-- The watermark moved from old_upto to new_upto: the counters of spans now
-- wholly behind it are never read again. No departure can hold them (a
-- departing ticket is WAITING, so above the new watermark until it commits).
create or replace function app.queue_blocks_prune(concert_id bigint, old_upto bigint, new_upto bigint)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  -- spans of 1 024 are the smallest: none newly behind, nothing to do
  if (queue_blocks_prune.new_upto + 1) / 1024 <= (queue_blocks_prune.old_upto + 1) / 1024 then
    return;
  end if;
  delete from app.queue_blocks b
  where b.concert_id = queue_blocks_prune.concert_id
    and (b.block_no + 1) * b.block_size <= queue_blocks_prune.new_upto + 1;
  delete from app.queue_arrivals a
  where a.concert_id = queue_blocks_prune.concert_id
    and (a.block_no + 1) * a.block_size <= queue_blocks_prune.new_upto + 1;
end
$$;

comment on function app.queue_blocks_prune(bigint, bigint, bigint) is
'Deletes the app.queue_blocks and app.queue_arrivals rows of concert_id whose span lies wholly at or below new_upto, when the watermark
moving from old_upto to new_upto passed the end of a block (api.queue_admit).';

create or replace function api.queue_blocks_rebuild(concert_id bigint default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_concert_ids bigint[];
  v_queue_nos bigint[];
begin
  -- First every count of arrivals: waits for the counters in flight (a
  -- join's or an admission's) to commit, and from then on every counter
  -- skips counting until this commits (app.queue_count_lock), so joins never
  -- wait for a rebuild. Taken before app.queue_blocks, in the order an
  -- admission takes them (it counts, then prunes the departure counters).
  perform pg_catalog.pg_advisory_xact_lock(1114791, 1);
  -- Holds off every departure (they add to app.queue_blocks) until this
  -- commits, so the recount below misses none: one that committed before
  -- the lock is in the recount's snapshot, one still running adds itself
  -- afterwards. Polls only read and go on.
  lock table app.queue_blocks in exclusive mode;
  delete from app.queue_blocks b
  where queue_blocks_rebuild.concert_id is null or b.concert_id = queue_blocks_rebuild.concert_id;
  select coalesce(array_agg(t.concert_id), '{}'), coalesce(array_agg(t.queue_no), '{}')
    into v_concert_ids, v_queue_nos
  from app.queue_tickets t
  join app.queues q on q.concert_id = t.concert_id
  where (queue_blocks_rebuild.concert_id is null or t.concert_id = queue_blocks_rebuild.concert_id)
    and t.queue_no > q.admitted_upto
    and t.activated_at is null and t.status <> 'WAITING';
  perform app.queue_blocks_add(v_concert_ids, v_queue_nos);
  -- The arrival counters, from the block of the watermark up to the closed
  -- part's end (no ticket can appear there any more).
  delete from app.queue_arrivals a
  where queue_blocks_rebuild.concert_id is null or a.concert_id = queue_blocks_rebuild.concert_id;
  insert into app.queue_counted as k (concert_id, counted_below)
  select q.concert_id,
         app.queue_arrivals_count(q.concert_id, q.admitted_upto, 0, (select l.closed_below from app.queue_line l))
  from app.queues q
  where queue_blocks_rebuild.concert_id is null or q.concert_id = queue_blocks_rebuild.concert_id
  on conflict on constraint queue_counted_pkey
  do update set counted_below = excluded.counted_below, counted_at = excluded.counted_at;
  return cardinality(v_queue_nos);
end
$$;

comment on function api.queue_blocks_rebuild(bigint) is
'Recounts the departure counters (app.queue_blocks) and the arrival counters (app.queue_arrivals) of one concert, or of all when concert_id is null, from its
tickets past the watermark: for a DBA after tickets were changed by hand or loaded in bulk (api.audit() reports
a counter that differs, as queue_block_departed). Holds off departures (leave, expiry) until it commits, and
arrival counting (which joins and admission then skip, without waiting).
Parameters: concert_id (default null: every concert).
Result: the number of departures counted.
Errors: none.';

revoke execute on function api.queue_blocks_rebuild(bigint) from public;

-- Arrival counters (app.queue_arrivals): how many tickets of a concert carry
-- a number of each unit of 32 and block of 1 024 and group of 32 768, whatever their
-- status. Written by the concert's admission for units wholly in the closed
-- part of the line (below app.queue_line.closed_below): no ticket can appear
-- there any more and tickets are never deleted, so the count stays exact.
-- app.queues.counted_below (a multiple of 32) says how far they go: every
-- unit of 32 below it is counted, and every block and group wholly below it.
-- Counting to the last whole unit of 32, not block of 1 024, keeps the part
-- a position counts on the index (the tail past counted_below) to the joins
-- since the last admission run plus fewer than 32 numbers.

-- Counts the units of 32 of the concert that closed since counted_below
-- (from the watermark's unit on), and the blocks and groups that became
-- whole; returns the new counted_below (a multiple of 32). The caller stores it.
create or replace function app.queue_arrivals_count(
  concert_id bigint, admitted_upto bigint, counted_below bigint, closed_below bigint)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_from bigint := greatest(queue_arrivals_count.counted_below,
                            (queue_arrivals_count.admitted_upto + 1) / 32 * 32);
  v_to bigint := queue_arrivals_count.closed_below / 32 * 32;
begin
  if v_to <= v_from then
    return greatest(queue_arrivals_count.counted_below, v_from);
  end if;
  -- the new units of 32; the blocks of 1 024 and groups of 32 768 that the
  -- new part completes, each recounted whole from its start (a block once
  -- per 1 024 numbers, a group once per 32 768)
  insert into app.queue_arrivals as a (concert_id, block_size, block_no, arrived)
  select queue_arrivals_count.concert_id, 32, t.queue_no / 32, count(*)
  from app.queue_tickets t
  where t.concert_id = queue_arrivals_count.concert_id and t.queue_no >= v_from and t.queue_no < v_to
  group by t.queue_no / 32
  union all
  select queue_arrivals_count.concert_id, 1024, t.queue_no / 1024, count(*)
  from app.queue_tickets t
  where t.concert_id = queue_arrivals_count.concert_id
    and t.queue_no >= v_from / 1024 * 1024 and t.queue_no < v_to / 1024 * 1024
  group by t.queue_no / 1024
  union all
  select queue_arrivals_count.concert_id, 32768, t.queue_no / 32768, count(*)
  from app.queue_tickets t
  where t.concert_id = queue_arrivals_count.concert_id
    and t.queue_no >= v_from / 32768 * 32768 and t.queue_no < v_to / 32768 * 32768
  group by t.queue_no / 32768
  on conflict on constraint queue_arrivals_pkey do update set arrived = excluded.arrived;
  return v_to;
end
$$;

comment on function app.queue_arrivals_count(bigint, bigint, bigint, bigint) is
'Writes the app.queue_arrivals rows of concert_id for the units of 32 wholly below closed_below and not counted
yet (from the larger of counted_below and the watermark''s unit), and for the blocks of 1 024 and groups of
32 768 that they complete; returns the new counted_below (a multiple of 32) for app.queues.';

-- Counting, by whoever gets to it: the concert's admission at each run,
-- and a join whose number lies far past the counted part
-- (app.queue_count_help). One session at a time per concert, under an
-- advisory lock taken without waiting: whoever does not get it leaves the
-- counting to the holder. The lock is held to the end of the counting
-- transaction, so the next holder reads the row as the last one committed
-- it. Nothing else writes app.queue_counted but api.queue_blocks_rebuild.

-- The advisory lock (1114792, concert) that one counter of a concert holds;
-- pg_locks shows it as classid 1114792, objid the concert (mod 2^31),
-- objsubid 2, apart from the join marks of 20_queue.sql (1114793 and up).
-- Every counter also holds (1114791, 1) shared, which a rebuild of the
-- counters (api.queue_blocks_rebuild) takes exclusively: while a rebuild
-- runs or waits, nobody counts (and nobody waits for it either).
--
-- Only under READ COMMITTED: a count must see every join that ended before
-- the line was closed, which a snapshot taken at the start of a REPEATABLE
-- READ or SERIALIZABLE transaction (a DBA's, say) would not.
create or replace function app.queue_count_lock(concert_id bigint)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  return pg_catalog.current_setting('transaction_isolation') = 'read committed'
         and pg_catalog.pg_try_advisory_xact_lock_shared(1114791, 1)
         and pg_catalog.pg_try_advisory_xact_lock(1114792, (queue_count_lock.concert_id % 2147483647)::integer);
end
$$;

comment on function app.queue_count_lock(bigint) is
'Takes the advisory lock that one counter of the concert''s arrivals holds until its transaction ends, without
waiting: true when taken (or held already by this transaction), false when another session holds it, when a
rebuild of the counters runs or waits (api.queue_blocks_rebuild), or when the transaction is not READ COMMITTED.';

-- Counts the concert's arrivals up to closed_below (the closed part of the
-- line as the caller read it) and stores how far: the new counted_below, or
-- null when another session is counting the concert (nothing done).
create or replace function app.queue_count(concert_id bigint, closed_below bigint)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_upto bigint;
  v_counted bigint;
  v_new bigint;
begin
  if not app.queue_count_lock(queue_count.concert_id) then
    return null;
  end if;
  -- Read after the lock, so these are the last committed values (or this
  -- transaction's own). A watermark older than the one an admission is
  -- committing only makes the count start lower: counters below the
  -- watermark are never read, and the next prune deletes them.
  select q.admitted_upto into v_upto from app.queues q where q.concert_id = queue_count.concert_id;
  if not found then
    return null;
  end if;
  select k.counted_below into v_counted from app.queue_counted k where k.concert_id = queue_count.concert_id;
  v_counted := coalesce(v_counted, 0);
  -- Nobody joined the concert since: nothing to count and nothing to write.
  -- The sequence is shared, so the closed part moves on with every other
  -- concert's joins; moving counted_below past numbers that hold none of
  -- this concert's tickets would only rewrite this row on every admission
  -- run of every concert with a line (a position counts no ticket there
  -- anyway, and the next join here counts from where it stands).
  if not exists (select from app.queue_tickets t
                 where t.concert_id = queue_count.concert_id
                   and t.queue_no >= greatest(v_counted, v_upto + 1)
                   and t.queue_no < queue_count.closed_below / 32 * 32) then
    return v_counted;
  end if;
  v_new := app.queue_arrivals_count(queue_count.concert_id, v_upto, v_counted, queue_count.closed_below);
  if v_new > v_counted then
    insert into app.queue_counted as k (concert_id, counted_below, counted_at)
    values (queue_count.concert_id, v_new, clock_timestamp())
    on conflict on constraint queue_counted_pkey
    do update set counted_below = greatest(k.counted_below, excluded.counted_below), counted_at = excluded.counted_at;
  end if;
  return greatest(v_new, v_counted);
end
$$;

comment on function app.queue_count(bigint, bigint) is
'Counts the arrivals of concert_id (app.queue_arrivals) in the units of 32 wholly below closed_below that are not
counted yet and stores the new counted_below (app.queue_counted). One session at a time per concert
(app.queue_count_lock, held to the end of the transaction): returns the new counted_below, or null when
another session holds the lock and nothing was done.';

-- A join whose number lies this far past its concert's counted part counts
-- the line (app.queue_count_help): the positions a join or poll computes
-- count at most about this many numbers on the index, plus the joins in
-- flight, however many join a second and whether admission runs or not.
-- No SET clause: a constant with no name to resolve, which PostgreSQL then
-- inlines and folds into the join's plan (with one, it would parse and plan
-- this body on every join).
create or replace function app.queue_count_every()
returns bigint
language sql
immutable
security invoker
as $$
  select 256::bigint
$$;

comment on function app.queue_count_every() is
'How far past its concert''s counted part (in queue numbers) a join''s number must lie for the join to count the
line (app.queue_count_help): 256.';

-- Called by a join whose number lies past its concert's counted part by
-- app.queue_count_every() or more: closes the line when the last close is
-- over 20 ms old (a close reads pg_locks twice; at most about 50 a second
-- for the whole database, whatever the joins), then counts the concert up
-- to the closed part. Never waits for a lock: another join or the
-- admission counting the concert, or closing the line, does it instead.
-- The join's own number may end up in the closed part and counted: both
-- commit or roll back with the join.
create or replace function app.queue_count_help(concert_id bigint)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_closed bigint;
  v_closed_at timestamptz;
begin
  if not app.queue_count_lock(queue_count_help.concert_id) then
    return;
  end if;
  select l.closed_below, l.closed_at into strict v_closed, v_closed_at from app.queue_line l;
  if v_closed_at < clock_timestamp() - interval '20 milliseconds' then
    -- a join between drawing its number and naming it holds the close up
    -- for microseconds: wait for it 2 ms at most, not the admission's 200
    v_closed := app.queue_line_close(interval '2 milliseconds');
  end if;
  perform app.queue_count(queue_count_help.concert_id, v_closed);
end
$$;

comment on function app.queue_count_help(bigint) is
'A join''s share of the counting: closes the line (app.queue_line_close, when the last close is over 20 ms old)
and counts concert_id''s arrivals up to it (app.queue_count), unless another session is counting the concert.
Never waits for a lock.';

-- How many tickets of the concert with after_no < queue_no < before_no this
-- statement sees, whatever their status: counters for the units of 32 768,
-- 1 024 and 32 numbers wholly inside the range and below counted_below, the
-- index for the rest (fewer than 32 numbers at each end, and the numbers past
-- counted_below: the joins since the last count). A number the sequence
-- skipped has no ticket and a join still committing is not seen, so neither
-- is counted. Stable: it reads the snapshot of the statement that calls it.
--
-- The counted part [after_no + 1, cut) splits, for the largest size whose
-- whole units fit in it, into that size's middle [L, R) and two edges. Each
-- edge is a run of whole smaller units (the left edge ends at L, the right
-- edge starts at R, both aligned to every smaller size), then fewer than 32
-- numbers at its outer end. So at most one range per size and edge: the
-- arithmetic is done here and the sums in one statement (each statement a
-- function runs costs tens of microseconds; a poll pays this once).
create or replace function app.queue_arrived(concert_id bigint, after_no bigint, before_no bigint, counted_below bigint)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
-- One plan for every call: each range is an index range whatever its
-- bounds, but a range's custom plan is estimated cheaper than the generic
-- one, so by default PostgreSQL planned the statement again on every poll
-- (0.26 ms, three times its run).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set jit = off
as $$
declare
  v_lo bigint := queue_arrived.after_no + 1;
  v_cut bigint := greatest(least(queue_arrived.before_no, queue_arrived.counted_below), queue_arrived.after_no + 1);
  -- per size: the first and last whole unit boundary inside [v_lo, v_cut)
  v_l32 bigint := (v_lo + 31) / 32 * 32;
  v_r32 bigint := v_cut / 32 * 32;
  v_l1k bigint := (v_lo + 1023) / 1024 * 1024;
  v_r1k bigint := v_cut / 1024 * 1024;
  v_l32k bigint := (v_lo + 32767) / 32768 * 32768;
  v_r32k bigint := v_cut / 32768 * 32768;
  v_count bigint;
begin
  if queue_arrived.before_no - queue_arrived.after_no <= 1 then
    return 0::bigint;
  end if;
  -- An empty middle moves that size out of the way: its units are counted
  -- by the next smaller size (its edges then meet), or by the index.
  if v_l32k >= v_r32k then
    v_l32k := v_r1k; v_r32k := v_r1k;
    if v_l1k >= v_r1k then
      v_l1k := v_r32; v_r1k := v_r32; v_l32k := v_r32; v_r32k := v_r32;
      if v_l32 >= v_r32 then
        -- not one whole unit of 32: the index alone
        v_l32 := v_cut; v_r32 := v_cut; v_l1k := v_cut; v_r1k := v_cut; v_l32k := v_cut; v_r32k := v_cut;
      end if;
    end if;
  end if;
  -- [v_lo, v_l32) index | [v_l32, v_l1k) units | [v_l1k, v_l32k) blocks | [v_l32k, v_r32k) groups |
  -- [v_r32k, v_r1k) blocks | [v_r1k, v_r32) units | [v_r32, v_cut) index | [v_cut, before_no) index
  -- One aggregate over the eight ranges (each an index range scan): an
  -- aggregate per range cost more to set up than to run.
  select coalesce(sum(r.n), 0)
    into v_count
  from (select count(*) as n
        from app.queue_tickets t
        where t.concert_id = queue_arrived.concert_id
          and t.queue_no >= v_cut and t.queue_no < queue_arrived.before_no
        union all
        select count(*)
        from app.queue_tickets t
        where t.concert_id = queue_arrived.concert_id and t.queue_no >= v_lo and t.queue_no < v_l32
        union all
        select count(*)
        from app.queue_tickets t
        where t.concert_id = queue_arrived.concert_id and t.queue_no >= v_r32 and t.queue_no < v_cut
        union all
        select a.arrived
        from app.queue_arrivals a
        where a.concert_id = queue_arrived.concert_id and a.block_size = 32
          and a.block_no >= v_l32 / 32 and a.block_no < v_l1k / 32
        union all
        select a.arrived
        from app.queue_arrivals a
        where a.concert_id = queue_arrived.concert_id and a.block_size = 32
          and a.block_no >= v_r1k / 32 and a.block_no < v_r32 / 32
        union all
        select a.arrived
        from app.queue_arrivals a
        where a.concert_id = queue_arrived.concert_id and a.block_size = 1024
          and a.block_no >= v_l1k / 1024 and a.block_no < v_l32k / 1024
        union all
        select a.arrived
        from app.queue_arrivals a
        where a.concert_id = queue_arrived.concert_id and a.block_size = 1024
          and a.block_no >= v_r32k / 1024 and a.block_no < v_r1k / 1024
        union all
        select a.arrived
        from app.queue_arrivals a
        where a.concert_id = queue_arrived.concert_id and a.block_size = 32768
          and a.block_no >= v_l32k / 32768 and a.block_no < v_r32k / 32768) r;
  return v_count;
end
$$;

comment on function app.queue_arrived(bigint, bigint, bigint, bigint) is
'How many tickets of concert_id with after_no < queue_no < before_no this statement sees (any status): the
app.queue_arrivals counters of the units of 32 768, 1 024 and 32 numbers wholly inside the range and below
counted_below, and the index for the rest (under 32 numbers at each end, and past counted_below). Numbers
skipped by the sequence and joins not yet committed are not counted.';
