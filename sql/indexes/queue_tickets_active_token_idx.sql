-- The ACTIVE tickets by token: how app.ticket_find finds a token that is
-- ACTIVE (the admitted fan's reads, holds and payments), and how a payment
-- finds the ticket it uses up (token = ... and status = 'ACTIVE').
-- Why not the primary key: a payment runs in SERIALIZABLE, where a read
-- through a B-tree locks the leaf page it read (an SSI predicate lock), and
-- using up a ticket (ACTIVE -> USED, not a HOT update: status is in other
-- indexes' predicates) inserts its new version into queue_tickets_pkey. Two
-- payments whose tokens share a primary key leaf page (every token, in a
-- small line) each read what the other wrote and one of them failed with
-- 40001. A USED version is not in this index (only admission, which is not
-- SERIALIZABLE, inserts into it), so payments reading it never conflict.
-- Expected plan: Index Scan using queue_tickets_active_token_idx,
-- Index Cond: (token = ...).
create index concurrently if not exists queue_tickets_active_token_idx
  on app.queue_tickets (token)
  where status = 'ACTIVE';
