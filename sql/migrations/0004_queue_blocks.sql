-- Departure counters of the waiting room, so that a position costs the same
-- however many tickets left the line ahead of it.
--
-- A WAITING ticket's position is queue_no - admitted_upto - (the tickets
-- between the watermark and it that left the line without being admitted:
-- LEFT, or EXPIRED while WAITING; "departures"). Counting those on the
-- partial index queue_tickets_concert_id_queue_no_departed_idx grew with
-- them: 3.4 x the cost of a poll with 1 % of a 1 000 000 line departed
-- (bench/queue_position/RESULTS.md). Here every departure is counted twice,
-- in its block of 1 024 queue numbers and in its group of 32 768 (32
-- blocks), so a position sums at most 31 group rows and 62 block rows and
-- counts the departures of the two partial blocks at its ends on the index
-- (app.queue_departed, sql/procedures/22_queue_blocks.sql).
--
-- A row covers queue numbers block_no * block_size .. block_no * block_size +
-- block_size - 1 of its concert; it exists once that span has a departure.
-- Kept by app.queue_blocks_add in the same transaction as each departure
-- (api.queue_leave, api.tokens_expire, api.queue_join ending a dead ticket).
-- Exact for every span past the one that holds the watermark, which are the
-- only ones a position reads: the idle tickets that api.queue_admit expires
-- lie at or below the watermark it sets in the same transaction, so it does
-- not count them, and it deletes the rows of spans wholly at or below it.
--
-- No foreign key to app.queues: its check would take FOR KEY SHARE on the
-- queue row, which joins and admission hold FOR UPDATE, and a leave would
-- then wait on (or deadlock with) a join that ends a dead ticket.
create table app.queue_blocks (
  concert_id bigint not null,
  block_size integer not null,
  block_no   bigint not null,
  departed   bigint not null,
  constraint queue_blocks_pkey primary key (concert_id, block_size, block_no),
  constraint queue_blocks_block_size_check check (block_size in (1024, 32768)),
  constraint queue_blocks_departed_check check (departed > 0)
);

-- The departures already in the lines, past each concert's watermark. Old
-- functions that run after this commits and before sql/procedures is applied
-- (the same migrate, a moment later) would not count theirs: api.audit()
-- reports such a row (queue_block_departed) and api.queue_blocks_rebuild()
-- recounts it.
insert into app.queue_blocks (concert_id, block_size, block_no, departed)
select t.concert_id, s.block_size, t.queue_no / s.block_size, count(*)
from app.queue_tickets t
join app.queues q on q.concert_id = t.concert_id
cross join (values (1024), (32768)) s(block_size)
where t.activated_at is null and t.status <> 'WAITING'
  and t.queue_no > q.admitted_upto
group by t.concert_id, s.block_size, t.queue_no / s.block_size;
