-- After 0010_queue_counted.sql, in the transaction that installs the
-- procedures that read app.queue_counted: how far each concert's arrivals
-- are counted moves there from app.queues (the procedures replaced by this
-- transaction were the last to read or write the old column).
insert into app.queue_counted as k (concert_id, counted_below)
select q.concert_id, q.counted_below from app.queues q where q.counted_below > 0
on conflict on constraint queue_counted_pkey
do update set counted_below = greatest(k.counted_below, excluded.counted_below);
alter table app.queues drop column counted_below;
