-- After 0005_queue_sequence.sql, in the transaction that installs the
-- procedures that draw queue numbers from the sequence. Until this commits,
-- the old api.queue_join handed out numbers from app.queues.next_no; with
-- app.queue_tickets held against writes until the commit, the sequence is
-- set above every number handed out, the whole line so far is closed (no
-- join is in flight while the lock is held), and every concert's arrival
-- counters are written. Then next_no goes: nothing reads it any more.
lock table app.queue_tickets in share row exclusive mode;
select setval('app.queue_tickets_queue_no_seq',
              greatest((select max(t.queue_no) from app.queue_tickets t),
                       (select l.closed_below - 1 from app.queue_line l), 1));
update app.queue_line
set closed_below = (select s.last_value + 1 from app.queue_tickets_queue_no_seq s), closed_at = now();
select api.queue_blocks_rebuild();
alter table app.queues drop column next_no;
