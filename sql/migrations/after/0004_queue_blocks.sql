-- After 0004_queue_blocks.sql, in the transaction that installs the
-- procedures which keep app.queue_blocks: recount every concert's counters.
-- 0004 backfilled them when it committed, but until the new procedures
-- commit the old queue_leave and tokens_expire end WAITING tickets without
-- counting them. Holding app.queue_tickets against updates until this
-- transaction commits means no departure can fall between the two.
lock table app.queue_tickets in share row exclusive mode;
select api.queue_blocks_rebuild();
