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
  update app.queues q
  set counted_below = app.queue_arrivals_count(q.concert_id, q.admitted_upto, 0,
                                               (select l.closed_below from app.queue_line l))
  where queue_blocks_rebuild.concert_id is null or q.concert_id = queue_blocks_rebuild.concert_id;
  return cardinality(v_queue_nos);
end
$$;

comment on function api.queue_blocks_rebuild(bigint) is
'Recounts the departure counters (app.queue_blocks) and the arrival counters (app.queue_arrivals) of one concert, or of all when concert_id is null, from its
tickets past the watermark: for a DBA after tickets were changed by hand or loaded in bulk (api.audit() reports
a counter that differs, as queue_block_departed). Holds off departures (leave, expiry) until it commits.
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

-- How many tickets of the concert with after_no < queue_no < before_no this
-- statement sees, whatever their status: counters for the units of 32 768,
-- 1 024 and 32 numbers wholly inside the range and below counted_below
-- (largest first: at most about 30 + 2 x 31 + 2 x 31 rows), the index for
-- the rest (fewer than 32 numbers at each end, and the numbers past
-- counted_below: the joins of the last moments). A number the sequence
-- skipped has no ticket and a join still committing is not seen, so neither
-- is counted. Stable: it reads the snapshot of the statement that calls it.
create or replace function app.queue_arrived(concert_id bigint, after_no bigint, before_no bigint, counted_below bigint)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  -- the counted part is [after_no + 1, v_cut)
  v_cut bigint := least(queue_arrived.before_no, queue_arrived.counted_below);
  v_lo bigint[];
  v_hi bigint[];
  v_next_lo bigint[];
  v_next_hi bigint[];
  v_size bigint;
  v_start bigint;
  v_end bigint;
  v_count bigint;
begin
  if queue_arrived.before_no - queue_arrived.after_no <= 1 then
    return 0::bigint;
  end if;
  -- past the counted part, on the index
  select count(*) into v_count
  from app.queue_tickets t
  where t.concert_id = queue_arrived.concert_id
    and t.queue_no >= greatest(queue_arrived.after_no + 1, v_cut) and t.queue_no < queue_arrived.before_no;
  if v_cut <= queue_arrived.after_no + 1 then
    return v_count;
  end if;
  -- The counted part: the whole units of each size, largest first; what is
  -- left at the ends (at most one range each side) goes to the next size.
  v_lo := array[queue_arrived.after_no + 1];
  v_hi := array[v_cut];
  foreach v_size in array array[32768, 1024, 32]::bigint[] loop
    v_next_lo := '{}';
    v_next_hi := '{}';
    for i in 1 .. cardinality(v_lo) loop
      v_start := (v_lo[i] + v_size - 1) / v_size * v_size;
      v_end := v_hi[i] / v_size * v_size;
      if v_start < v_end then
        v_count := v_count + (select coalesce(sum(a.arrived), 0)::bigint
                              from app.queue_arrivals a
                              where a.concert_id = queue_arrived.concert_id and a.block_size = v_size
                                and a.block_no >= v_start / v_size and a.block_no < v_end / v_size);
        if v_lo[i] < v_start then
          v_next_lo := v_next_lo || v_lo[i];
          v_next_hi := v_next_hi || v_start;
        end if;
        if v_end < v_hi[i] then
          v_next_lo := v_next_lo || v_end;
          v_next_hi := v_next_hi || v_hi[i];
        end if;
      else
        v_next_lo := v_next_lo || v_lo[i];
        v_next_hi := v_next_hi || v_hi[i];
      end if;
    end loop;
    v_lo := v_next_lo;
    v_hi := v_next_hi;
  end loop;
  -- fewer than 32 numbers each: the index
  for i in 1 .. cardinality(v_lo) loop
    v_count := v_count + (select count(*)
                          from app.queue_tickets t
                          where t.concert_id = queue_arrived.concert_id
                            and t.queue_no >= v_lo[i] and t.queue_no < v_hi[i]);
  end loop;
  return v_count;
end
$$;

comment on function app.queue_arrived(bigint, bigint, bigint, bigint) is
'How many tickets of concert_id with after_no < queue_no < before_no this statement sees (any status): the
app.queue_arrivals counters of the units of 32 768, 1 024 and 32 numbers wholly inside the range and below
counted_below, and the index for the rest (under 32 numbers at each end, and past counted_below). Numbers
skipped by the sequence and joins not yet committed are not counted.';
