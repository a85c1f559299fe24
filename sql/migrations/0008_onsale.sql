-- Running an on-sale (docs/onsale.md, "Scheduled opening"): a scheduled
-- opening with a pre-queue, pause and resume, and a rate of admission.
--
-- 1. A concert's sale: when it opens (sale_opens_at, null: no scheduled
--    opening), whether admission is paused, the opening's cut in the queue
--    numbers, and when the opening was done (sale_opened_at: the admission
--    run that shuffled the pre-queue). Joins
--    and polls read these columns without a lock; only a DBA's
--    api.sale_* functions and the concert's admission (once, at the opening)
--    write the row.
-- 2. The opening permutes the queue numbers among the pre-queued WAITING
--    tickets of a concert in one UPDATE: a ticket takes a number another one
--    holds until the same statement moves that one. A unique constraint that
--    is not deferrable is checked row by row and would refuse it, so the
--    constraint becomes DEFERRABLE INITIALLY IMMEDIATE (checked at the end of
--    each statement; nothing uses it as an ON CONFLICT arbiter).
-- 3. NEW_USERS_PER_MINUTE: a token bucket per concert, in the concert's
--    app.queues row, which only its admission writes; and the count of
--    admissions for /metrics, in the same row.

alter table app.concerts
  add column sale_opens_at  timestamptz,
  add column sale_paused    boolean not null default false,
  add column sale_opened_at timestamptz,
  -- the opening's cut: past every number drawn before the opening (read by
  -- the first admission run after it); the opening waits for the line to be
  -- closed up to it
  add column sale_cut       bigint,
  -- how many WAITING tickets the opening put in random order
  add column sale_prequeued bigint,
  add constraint concerts_sale_opened_check check (sale_opened_at is null or sale_opens_at is not null),
  add constraint concerts_sale_prequeued_check check ((sale_opened_at is null) = (sale_prequeued is null));

alter table app.queue_tickets
  drop constraint queue_tickets_concert_id_queue_no_key,
  add constraint queue_tickets_concert_id_queue_no_key unique (concert_id, queue_no) deferrable initially immediate;

alter table app.queues
  -- admissions the rate still allows, as of tokens_at (at most one run's worth)
  add column admit_tokens   double precision not null default 0,
  add column tokens_at      timestamptz,
  -- every admission ever, for /metrics (boxoffice_queue_admitted_total)
  add column admitted_total bigint not null default 0;
