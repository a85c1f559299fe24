-- The on-sale hot path (see docs/onsale.md).
--
-- 1. A ticket's place comes from a sequence, no longer from its concert's
--    app.queues row under a lock: joins of one concert stop queueing on that
--    row. A sequence skips numbers (rolled-back joins, up to 32 after a
--    crash) and a smaller number can commit after a larger one, so the line
--    has a closed part: app.queue_line.closed_below, below which every
--    number was handed out and every join that drew one has ended (committed
--    or rolled back). Admission and the arrival counters only work there.
-- 2. Arrival counters (app.queue_arrivals), per unit of 32, block of 1 024
--    and group of 32 768 numbers of the closed part, so that a position counts the
--    tickets ahead from a few rows at a million waiting tickets.
-- 3. Payments: the unique index of live reservations keys on a generated
--    column, so that HELD -> PAID is a HOT update (no index entry, so no
--    conflict with another payment's SSI lock on the same B-tree page), and
--    room on the pages for HOT updates.

create sequence app.queue_tickets_queue_no_seq as bigint owned by app.queue_tickets.queue_no;
-- Above every number handed out so far, in any concert; the after-script sets
-- it again under a lock (old joins run until the procedures are replaced).
select setval('app.queue_tickets_queue_no_seq', coalesce((select max(queue_no) from app.queue_tickets), 0) + 1, false);
alter table app.queue_tickets alter column queue_no set default nextval('app.queue_tickets_queue_no_seq');

-- The foreign key's check took FOR KEY SHARE on the concert's queue row at
-- every join: thousands of lockers of one row make a MultiXact each time.
-- api.queue_join makes the queue row before the ticket; api.audit() reports
-- a ticket without one.
alter table app.queue_tickets drop constraint queue_tickets_concert_id_fkey;

-- The closed part of the line, one row for the whole database (the sequence
-- is shared by every concert). Moved up by app.queue_line_close.
create table app.queue_line (
  line_id      boolean not null default true,
  closed_below bigint not null,
  closed_at    timestamptz not null default now(),
  constraint queue_line_pkey primary key (line_id),
  constraint queue_line_line_id_check check (line_id)
);
insert into app.queue_line (closed_below)
select coalesce(max(queue_no), 0) + 1 from app.queue_tickets;

-- Arrival counters: how many tickets of a concert carry a number of the
-- unit (32 numbers), block (1 024) or group (32 768), whatever their status; written
-- once each, when the block is closed and the concert's admission counts it
-- (app.queue_arrivals_count), and pruned once the watermark passes them.
-- Nothing else writes them, so polls read them without waiting.
create table app.queue_arrivals (
  concert_id bigint not null,
  block_size integer not null,
  block_no   bigint not null,
  arrived    bigint not null,
  constraint queue_arrivals_pkey primary key (concert_id, block_size, block_no),
  constraint queue_arrivals_block_size_check check (block_size in (32, 1024, 32768)),
  constraint queue_arrivals_arrived_check check (arrived > 0)
);

-- Every block below counted_below (a multiple of 1 024) has its arrival
-- counters. next_no is no longer used (the after-script drops it).
alter table app.queues add column counted_below bigint not null default 0;
update app.queues set counted_below = (admitted_upto + 1) / 1024 * 1024;

-- Payments: HELD -> PAID must not touch an indexed column.
alter table app.reservations
  add column live boolean generated always as (status in ('HELD', 'PAID')) stored;
create unique index reservations_date_id_seat_no_live_key
  on app.reservations (date_id, seat_no) where live;
drop index app.reservations_date_id_seat_no_key;
alter index app.reservations_date_id_seat_no_live_key rename to reservations_date_id_seat_no_key;

-- A ledger row's foreign key check read payments_pkey's newest page, the
-- very page every other payment inserts into: under SERIALIZABLE two
-- payments at once were a read-write cycle, always. The link is kept by
-- api.payment_create in one transaction and checked by api.audit()
-- (ledger_payment_link).
alter table app.ledger drop constraint ledger_payment_id_fkey;

-- Room for HOT updates on the pages of the rows a payment changes (new
-- pages; existing ones keep what they have until rewritten).
alter table app.reservations set (fillfactor = 70);
alter table app.seats set (fillfactor = 70);
alter table app.users set (fillfactor = 80);
alter table app.queue_tickets set (fillfactor = 80);

-- Admission commits one concert at a time: a procedure, run outside a
-- transaction block (the scheduler runs a CALL that way).
update app.jobs set command = 'call api.queue_admit_run()'
where name = 'queue_admit' and command = 'select api.queue_admit()';
