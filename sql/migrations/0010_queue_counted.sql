-- The arrival counters' progress gets a row of its own (app.queue_counted).
--
-- counted_below lived on the concert's app.queues row, so only the
-- concert's admission (which holds that row) could count arrivals: once
-- per ADMIT_INTERVAL_SECONDS. Between two runs every join's and every new
-- ticket's position counted the line past counted_below on the index, one
-- entry per ticket: a second of an on-sale's joins for each join, and all of
-- them when no admission runs (joins into one concert fell from 3 800 a
-- second without the position to 400-760 with it). Joins now count too, a
-- batch every few hundred numbers (app.queue_count_help), and they must not
-- hold the row admission claims with SKIP LOCKED: a concert whose row a join
-- held would miss its admission run. Whoever counts holds an advisory lock
-- per concert instead (app.queue_count) and writes only this row.
--
-- No row means nothing is counted yet (counted_below 0): the tests, the
-- fixtures and the seed make app.queues rows without one.
create table app.queue_counted (
  concert_id    bigint primary key,
  counted_below bigint not null,
  counted_at    timestamptz not null default now(),
  constraint queue_counted_counted_below_check check (counted_below >= 0)
);

-- The old column is copied and dropped by after/0010_queue_counted.sql, in
-- the transaction that installs the procedures that read this table: until
-- then the procedures in the database still read app.queues.counted_below,
-- and every join, poll and admission would fail between the two commits.
