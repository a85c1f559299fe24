-- The waiting room's jobs: admission and the expiry sweep (app.jobs runs
-- them every ADMIT_INTERVAL_SECONDS and every 5 s). See 20_queue.sql for the
-- watermark and the lock order.

create or replace function api.queue_admit(as_of timestamptz default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
-- Its claim's generic plan scans the table (bench/explain/REPORT.md); a custom
-- plan per run keeps it on the partial index however the statistics drift.
set plan_cache_mode = force_custom_plan
as $$
declare
  v_now timestamptz := coalesce(queue_admit.as_of, now());
  v_cap bigint := app.setting('queue_active_cap', 100);
  v_active_for interval := make_interval(secs => app.setting('active_token_seconds', 600));
  v_idle_before timestamptz := v_now - make_interval(secs => app.setting('waiting_idle_seconds', 300));
  -- At most this many idle tickets are expired per concert and run, to keep
  -- the run short after a crowd walked away; the rest wait for the next run
  -- or api.tokens_expire. Order is unaffected: the run stops, never skips.
  v_idle_max constant bigint := 10000::bigint;
  v_concert_id bigint;
  v_queue app.queues;
  v_need bigint;
  v_admitted bigint;
  v_expired bigint;
  v_claimed bigint;
  v_claimed_active bigint;
  v_last bigint;
  v_from bigint;
  v_upto bigint;
  v_dt double precision;
  v_total bigint := 0::bigint;
begin
  -- Concerts whose line may hold WAITING tickets above the watermark, in
  -- concert_id order, so two admitters lock queue rows in the same order.
  for v_concert_id in
    select q.concert_id from app.queues q where q.admitted_upto < q.next_no - 1 order by q.concert_id
  loop
    -- The queue row lock serializes the admitters of one concert, across
    -- sessions and server instances: the second one waits here, then counts
    -- the ACTIVE set the first one committed, so together they never pass the
    -- cap nor admit a ticket twice. It also holds off joins for the moment.
    select * into strict v_queue from app.queues q where q.concert_id = v_concert_id for update;
    continue when v_queue.admitted_upto >= v_queue.next_no - 1;

    select v_cap - count(*) into v_need
    from app.queue_tickets t
    where t.concert_id = v_concert_id and t.status = 'ACTIVE' and t.expires_at > v_now;

    v_admitted := 0;
    v_expired := 0;
    v_from := v_queue.admitted_upto;
    while v_admitted < v_need and v_expired < v_idle_max loop
      -- The next WAITING tickets in queue_no order, from the watermark on
      -- (an Index Scan on queue_tickets_concert_id_queue_no_key with
      -- queue_no > v_from: admitted rows are never read again). Idle ones are
      -- expired, the others admitted. The expired ones are not counted in
      -- app.queue_blocks: the watermark passes them in this transaction, and
      -- no position reads the counters at or behind it (which also keeps
      -- this loop, waiting for ticket locks, from holding counter rows).
      -- Plain FOR UPDATE, not SKIP LOCKED as DESIGN.md suggests: a WAITING row
      -- is locked for a moment by its user's poll or leave, and skipping it
      -- would admit the ticket behind it first, out of arrival order. Waiting
      -- for that short lock is cheap, and the queue row lock above already
      -- keeps concurrent admitters apart, which is what SKIP LOCKED is for.
      with claimed as (
        select t.token, t.last_seen_at <= v_idle_before as idle
        from app.queue_tickets t
        where t.concert_id = v_concert_id and t.queue_no > v_from and t.status = 'WAITING'
        order by t.queue_no
        limit v_need - v_admitted
        for update
      ), changed as (
        update app.queue_tickets t
        set status = case when c.idle then 'EXPIRED' else 'ACTIVE' end,
            activated_at = case when c.idle then null else v_now end,
            expires_at = case when c.idle then null else v_now + v_active_for end,
            ended_at = case when c.idle then v_now end
        from claimed c
        where t.token = c.token
        returning t.queue_no, t.status = 'ACTIVE' as admitted
      )
      select count(*), count(*) filter (where ch.admitted), max(ch.queue_no)
        into v_claimed, v_claimed_active, v_last
      from changed ch;
      exit when v_claimed = 0;
      v_admitted := v_admitted + v_claimed_active;
      v_expired := v_expired + v_claimed - v_claimed_active;
      v_from := v_last;
    end loop;

    -- Every ticket up to v_from has left the line now; the watermark goes up
    -- to just below the first WAITING ticket after it (idle or not), or to the
    -- last ticket handed out. Joins are held off by the lock, so next_no is exact.
    select coalesce(
             (select t.queue_no - 1
              from app.queue_tickets t
              where t.concert_id = v_concert_id and t.queue_no > v_from and t.status = 'WAITING'
              order by t.queue_no
              limit 1),
             v_queue.next_no - 1)
      into v_upto;

    -- admit_rate: admissions per second, averaged exponentially over about a
    -- minute. Updated on every run that finds a line, so it also falls while
    -- the cap is full and nobody gets in. The first run counts from one
    -- admission interval back.
    v_dt := extract(epoch from v_now - coalesce(v_queue.rate_updated_at,
              v_now - make_interval(secs => app.setting('admit_interval_seconds', 1))))::double precision;
    update app.queues q
    set admitted_upto = greatest(q.admitted_upto, v_upto),
        admit_rate = case when v_dt > 0
                          then q.admit_rate + (1 - exp(-v_dt / 60)) * (v_admitted / v_dt - q.admit_rate)
                          else q.admit_rate + v_admitted / 60.0
                     end,
        rate_updated_at = greatest(q.rate_updated_at, v_now)
    where q.concert_id = v_concert_id;
    -- the departure counters of spans now wholly behind the watermark
    perform app.queue_blocks_prune(v_concert_id, v_queue.admitted_upto, v_upto);

    if v_admitted > 0 then
      perform pg_notify('boxoffice_queue', v_concert_id::text);
      v_total := v_total + v_admitted;
    end if;
  end loop;
  return v_total::integer;
end
$$;

comment on function api.queue_admit(timestamptz) is
'Admits the next WAITING tickets of every concert, strictly in arrival order, until each has queue_active_cap
ACTIVE tokens (the admission job; safe to run from several sessions at once). Idle WAITING tickets met on the
way are expired instead. Each admitted ticket gets activated_at = now and expires_at = now + active_token_seconds;
NOTIFY boxoffice_queue, payload the concert_id, for each concert where anyone was admitted.
Parameters: as_of (tests only; default now()).
Result: the number of tickets admitted over all concerts.
Errors: none.';

revoke execute on function api.queue_admit(timestamptz) from public;
grant execute on function api.queue_admit(timestamptz) to boxoffice_api;

create or replace function api.tokens_expire(as_of timestamptz default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := coalesce(tokens_expire.as_of, now());
  v_idle_before timestamptz := v_now - make_interval(secs => app.setting('waiting_idle_seconds', 300));
  -- per kind and run; a backlog is worked off over the next runs
  v_batch constant integer := 10000;
  v_active integer;
  v_waiting integer;
  v_concert_ids bigint[];
  v_queue_nos bigint[];
begin
  -- SKIP LOCKED: a ticket locked by the admitter, a poll or a payment is left
  -- for the next run, so the sweep never waits for a ticket and never
  -- deadlocks with them (it waits only for the departure counters at the end,
  -- held by leaves that wait for nothing).
  -- (The gate treats such a ticket as expired already.)
  -- Each half locks its due tickets in an ARRAY sub-select and updates them by
  -- token = any (...), always an Index Scan of queue_tickets_pkey. Joined from
  -- a CTE instead, they were joined by a Hash Join over a Seq Scan of the whole
  -- table: ended tickets keep their old last_seen_at, so the planner expects
  -- thousands of idle tickets where there are a few, and after five calls
  -- PL/pgSQL settled on a generic plan that read the table twice (250 ms at
  -- 110 000 tickets; bench/explain/REPORT.md). ORDER BY last_seen_at keeps the
  -- WAITING half on queue_tickets_last_seen_at_idx however many rows the
  -- planner expects, and sweeps the longest idle first.
  update app.queue_tickets t
  set status = 'EXPIRED', ended_at = v_now
  where t.token = any (array(
    select d.token
    from app.queue_tickets d
    where d.status = 'ACTIVE' and d.expires_at <= v_now
    limit v_batch
    for update skip locked));
  get diagnostics v_active = row_count;

  -- Idle WAITING tickets are departures: counted in app.queue_blocks in this
  -- transaction, one batched update per block and group they fall in (a
  -- crowd of 10 000 walking away is some hundred rows, not 10 000 updates),
  -- taken last so that the rows stay locked only until the commit.
  with ended as (
    update app.queue_tickets t
    set status = 'EXPIRED', ended_at = v_now
    where t.token = any (array(
      select d.token
      from app.queue_tickets d
      where d.status = 'WAITING' and d.last_seen_at <= v_idle_before
      order by d.last_seen_at
      limit v_batch
      for update skip locked))
    returning t.concert_id, t.queue_no)
  select coalesce(array_agg(e.concert_id), '{}'), coalesce(array_agg(e.queue_no), '{}')
    into v_concert_ids, v_queue_nos
  from ended e;
  v_waiting := cardinality(v_queue_nos);
  perform app.queue_blocks_add(v_concert_ids, v_queue_nos);

  return v_active + v_waiting;
end
$$;

comment on function api.tokens_expire(timestamptz) is
'Marks EXPIRED the ACTIVE tokens past expires_at and the WAITING tokens not polled for waiting_idle_seconds
(the expiry job; at most 10 000 of each kind per call). Freed ACTIVE slots go to the next in line at the next
admission; the positions of tickets behind an expired WAITING one drop at once (it is counted in app.queue_blocks).
Parameters: as_of (tests only; default now()).
Result: the number of tokens expired.
Errors: none.';

revoke execute on function api.tokens_expire(timestamptz) from public;
grant execute on function api.tokens_expire(timestamptz) to boxoffice_api;
