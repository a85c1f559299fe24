-- The waiting room's jobs: admission and the expiry sweep (app.jobs runs
-- them every ADMIT_INTERVAL_SECONDS and every 5 s). See 20_queue.sql for the
-- sequence, the closed part of the line, the watermark and the lock order.

drop function if exists api.queue_admit(timestamptz);
drop function if exists app.sale_open(bigint, bigint, bigint, timestamptz, timestamptz);
drop function if exists api.tokens_expire(timestamptz);

-- Moves the closed part of the line up: to just past the last number the
-- sequence has handed out, or to the first number a join still in flight
-- holds, whichever is lower.
--
-- The argument: a join takes the shared mark (app.queue_join_mark) before it
-- draws its number, and a second shared lock naming the number
-- (app.queue_join_number) right after, and holds both until it ends. This
-- reads the sequence's last_value L first; every number up to L was drawn
-- before that read, so its join took the mark before it too, and is
-- therefore either one of the mark's holders read next, or has ended
-- already. Each holder either names its number already or is between the
-- two locks (microseconds; this waits for it, at most max_wait), or drew no
-- number up to L (it draws one later, above L). So once every holder names
-- its number or has ended, no number below min(L + 1, the lowest number a
-- holder names) belongs to a join in flight: each was drawn by a join that
-- committed (visible to every later snapshot: a lock is released after the
-- commit is visible) or rolled back (a gap for good), and joins that start
-- later draw numbers above L. Below that the line is final: no ticket can
-- appear there any more. A slow join holds back only the numbers from its
-- own on, never the line before it, and joins never wait for this. (The
-- sequence's CACHE must stay 1, or a session could hold numbers below L
-- without having drawn them.)
create or replace function app.queue_line_close(max_wait interval)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_closed bigint;
  v_last bigint;
  v_called boolean;
  v_upto bigint;
  v_db oid;
  v_joins text[];
  v_unnamed integer;
  v_first bigint;
  v_until timestamptz := clock_timestamp() + queue_line_close.max_wait;
begin
  select l.closed_below into v_closed from app.queue_line l for update skip locked;
  if not found then
    -- another admitter is closing it: the line as last committed
    select l.closed_below into strict v_closed from app.queue_line l;
    return v_closed;
  end if;
  select s.last_value, s.is_called into v_last, v_called from app.queue_tickets_queue_no_seq s;
  v_upto := case when v_called then v_last + 1 else v_last end;
  if v_upto > v_closed then
    -- Advisory locks are per database, but pg_locks shows the whole cluster's:
    -- only this database's joins count.
    select d.oid into strict v_db from pg_catalog.pg_database d where d.datname = pg_catalog.current_database();
    -- The joins in flight now, by virtual transaction id (never reused); this
    -- transaction's own joins are visible to it already.
    select coalesce(array_agg(l.virtualtransaction), '{}') into v_joins
    from pg_catalog.pg_locks l
    where l.locktype = 'advisory' and l.database = v_db and l.classid = 1114793 and l.objid = 1 and l.objsubid = 2
      and l.pid is distinct from pg_catalog.pg_backend_pid();
    loop
      -- Of those still in flight: how many name no number yet, and the lowest
      -- number named (one read of pg_locks).
      with held as materialized (
        select l.virtualtransaction as vxid,
               case when l.classid = 1114793 then null
                    else ((l.classid::bigint - 1114794) << 32) + l.objid::bigint end as queue_no
        from pg_catalog.pg_locks l
        where l.locktype = 'advisory' and l.database = v_db and l.virtualtransaction = any (v_joins)
          and ((l.classid = 1114793 and l.objid = 1 and l.objsubid = 2)
               or (l.classid >= 1114794 and l.classid < 1114794 + 65536 and l.objsubid = 1)))
      select count(distinct h.vxid) filter (where not exists (select from held n
                                                               where n.vxid = h.vxid and n.queue_no is not null)),
             min(h.queue_no)
        into v_unnamed, v_first
      from held h;
      exit when v_unnamed = 0;
      if clock_timestamp() >= v_until then
        -- a join between its two locks for that long: the line stays where
        -- it is, and the next run tries again
        v_upto := v_closed;
        exit;
      end if;
      perform pg_catalog.pg_sleep(0.001);
    end loop;
    v_upto := least(v_upto, coalesce(v_first, v_upto));
  end if;
  -- The line never moves back. closed_at is when a close last ran, moved or
  -- not: the joins that help count (app.queue_count_help) close at most every
  -- 20 ms by it, and a line held by a join in flight must not make each of
  -- them read pg_locks again at once.
  v_upto := greatest(v_upto, v_closed);
  update app.queue_line l set closed_below = v_upto, closed_at = clock_timestamp();
  return v_upto;
end
$$;

comment on function app.queue_line_close(interval) is
'Moves app.queue_line.closed_below up to just past the last number the sequence handed out, or to the first
number a join still in flight holds, whichever is lower (waiting at most max_wait for joins between drawing a
number and naming it; otherwise it stays). closed_at records when a close last ran, whether or not it moved. Returns the closed_below to admit by. When another session is closing
the line, returns the last committed value at once.';

-- Admits the next concert after after_concert_id (in concert_id order) that
-- has WAITING tickets in the closed part of its line and that no other
-- admitter holds: one concert, in the caller's transaction.
create or replace function app.queue_admit_next(
  after_concert_id bigint,
  closed_below bigint,
  at timestamptz,
  out concert_id bigint,
  out admitted integer)
language plpgsql
volatile
security invoker
set search_path = ''
-- No plan_cache_mode = force_custom_plan any more: it was there because the
-- claims' generic plans could scan the table (bench/explain/REPORT.md), which
-- enable_seqscan = off now rules out, and planning each of a concert's dozen
-- statements again on every call cost about 3 ms a concert: 0.7-1 s a run
-- over 200 concerts with a line (sql/tests/queue_admit/plans_kept.test.sql).
set enable_seqscan = off
set jit = off
as $$
declare
  v_cap bigint := app.setting('queue_active_cap', 100);
  v_active_for interval := make_interval(secs => app.setting('active_token_seconds', 600));
  v_idle_before timestamptz := queue_admit_next.at - make_interval(secs => app.setting('waiting_idle_seconds', 300));
  -- At most this many idle tickets are expired per concert and run, to keep
  -- the run short after a crowd walked away; the rest wait for the next run
  -- or api.tokens_expire. Order is unaffected: the run stops, never skips.
  v_idle_max constant bigint := 10000::bigint;
  v_per_minute bigint := app.setting('new_users_per_minute', 0);
  v_burst double precision;
  v_tokens_now double precision;
  v_queue app.queues;
  v_concert app.concerts;
  v_need bigint;
  v_admitted bigint := 0::bigint;
  v_expired bigint := 0::bigint;
  v_tokens uuid[];
  v_last bigint;
  v_stop bigint;
  v_patience timestamptz;
  v_got boolean;
  v_claimed bigint;
  v_claimed_active bigint;
  v_from bigint;
  v_upto bigint;
  v_dt double precision;
begin
  -- FOR NO KEY UPDATE SKIP LOCKED: two admitters (sessions, instances) take
  -- different concerts, and one concert is admitted by one at a time, so the
  -- ACTIVE count below is exact and nobody is admitted twice. Joins do not
  -- lock the row, so they never wait for this.
  --
  -- A concert whose admission is paused is passed over, and so is one with
  -- a scheduled opening still to come.
  --
  -- "WAITING" is said as "none of the other four statuses"
  -- (queue_tickets_status_check), here and in the claims of tickets below:
  -- status = 'WAITING' would let the planner
  -- read queue_tickets_last_seen_at_idx (WHERE status = 'WAITING'), and with
  -- the statistics of before an on-sale (a few WAITING tickets) it read every
  -- WAITING ticket once and joined them against every concert's row: 113-146
  -- ms a claim in a 10 000-person on-sale. Said this way, only the probe of
  -- each concert's line on queue_tickets_concert_id_queue_no_key from its
  -- watermark is possible (sql/tests/queue_admit/stale_statistics.test.sql).
  select q.* into v_queue
  from app.queues q
  join app.concerts c on c.concert_id = q.concert_id
  where q.concert_id > coalesce(queue_admit_next.after_concert_id, 0)
    and not c.sale_paused
    and (c.sale_opens_at is null or c.sale_opens_at <= queue_admit_next.at)
    and exists (select from app.queue_tickets t
                where t.concert_id = q.concert_id and t.queue_no > q.admitted_upto
                  and t.queue_no < queue_admit_next.closed_below
                  and t.status <> 'ACTIVE' and t.status <> 'USED' and t.status <> 'LEFT' and t.status <> 'EXPIRED')
  order by q.concert_id
  limit 1
  for no key update of q skip locked;
  if not found then
    concert_id := null;
    admitted := 0;
    return;
  end if;
  concert_id := v_queue.concert_id;
  select c.* into strict v_concert from app.concerts c where c.concert_id = v_queue.concert_id;

  if v_concert.sale_opens_at is not null and v_concert.sale_opened_at is null then
    -- The opening (app.sale_open): the pre-queue in random order, ahead of
    -- the later arrivals, once the line is closed up to the cut; until then
    -- nobody is admitted.
    if not app.sale_open(v_concert, v_queue.admitted_upto, queue_admit_next.closed_below, queue_admit_next.at) then
      admitted := 0;
      return;
    end if;
    -- The event streams of the concert read their tickets again, all of
    -- them: positions appeared, and the places they keep were shuffled.
    perform pg_notify('boxoffice_queue', v_queue.concert_id::text || ' opened');
  end if;

  -- The arrivals of the closed part, unless a join is counting them now
  -- (app.queue_count_help).
  perform app.queue_count(v_queue.concert_id, queue_admit_next.closed_below);

  select v_cap - count(*) into v_need
  from app.queue_tickets t
  where t.concert_id = v_queue.concert_id and t.status = 'ACTIVE' and t.expires_at > queue_admit_next.at;

  -- new_users_per_minute: a token bucket per concert, refilled at that rate
  -- and holding at most one admission interval's worth (at least one), so
  -- the admissions of a minute are spread over its runs. The row keeps the
  -- bucket as of tokens_at; a run that admits nobody need not write it (the
  -- next run refills from the same state).
  if v_per_minute > 0 then
    v_burst := greatest(1.0, v_per_minute * app.setting('admit_interval_seconds', 1) / 60.0);
    v_tokens_now := case when v_queue.tokens_at is null then v_burst
                         else least(v_burst, v_queue.admit_tokens + v_per_minute / 60.0
                                    * greatest(extract(epoch from queue_admit_next.at - v_queue.tokens_at)::double precision, 0))
                    end;
    v_need := least(v_need, floor(v_tokens_now + 1e-9)::bigint);
  end if;

  v_from := v_queue.admitted_upto;
  while v_admitted < v_need and v_expired < v_idle_max loop
    -- The next WAITING tickets of the closed part in queue_no order, from
    -- the watermark on (admitted rows are never read again), SKIP LOCKED:
    -- a ticket is locked for a moment by its user's leave, an expiry sweep
    -- or a poll recording "still here".
    select coalesce(array_agg(c.token), '{}'), max(c.queue_no) into v_tokens, v_last
    from (select t.token, t.queue_no
          from app.queue_tickets t
          where t.concert_id = v_queue.concert_id and t.queue_no > v_from
            and t.queue_no < queue_admit_next.closed_below
            -- WAITING, said so that only the line's index serves it (see the claim above)
            and t.status <> 'ACTIVE' and t.status <> 'USED' and t.status <> 'LEFT' and t.status <> 'EXPIRED'
          order by t.queue_no
          limit v_need - v_admitted
          for update skip locked) c;
    -- A WAITING ticket that SKIP LOCKED passed over (or, when nothing was
    -- claimed, the first one left): admit only below it. Its transaction
    -- may roll back (it stays WAITING and first in line) or commit (it
    -- left); either way nobody behind it gets in before it is decided, so
    -- admission stays in arrival order.
    select min(t.queue_no) into v_stop
    from app.queue_tickets t
    where t.concert_id = v_queue.concert_id and t.queue_no > v_from
      and t.queue_no < coalesce(v_last, queue_admit_next.closed_below)
      and t.status <> 'ACTIVE' and t.status <> 'USED' and t.status <> 'LEFT' and t.status <> 'EXPIRED'
      and t.token <> all (v_tokens);
    exit when v_last is null and v_stop is null;
    -- Idle ones are expired, the others admitted. The expired ones are not
    -- counted in app.queue_blocks: the watermark passes them in this
    -- transaction, and no position reads the counters at or behind it.
    with changed as (
      update app.queue_tickets t
      set status = case when t.last_seen_at <= v_idle_before then 'EXPIRED' else 'ACTIVE' end,
          activated_at = case when t.last_seen_at <= v_idle_before then null else queue_admit_next.at end,
          expires_at = case when t.last_seen_at <= v_idle_before then null else queue_admit_next.at + v_active_for end,
          ended_at = case when t.last_seen_at <= v_idle_before then queue_admit_next.at end
      where t.token = any (v_tokens) and (v_stop is null or t.queue_no < v_stop)
      returning t.status = 'ACTIVE' as admitted)
    select count(*), count(*) filter (where ch.admitted) into v_claimed, v_claimed_active
    from changed ch;
    v_admitted := v_admitted + v_claimed_active;
    v_expired := v_expired + v_claimed - v_claimed_active;
    if v_stop is null then
      v_from := v_last;
    else
      -- The lock is most often a poll recording "still here", held for a
      -- millisecond; with thousands of fans' pages open their polls write
      -- WAITING tickets hundreds of times a second, and a large admission
      -- stopped at the first one would admit a few dozen of thousands. So
      -- wait for it (trying its lock every millisecond, up to 200 ms in all
      -- per concert and run, never blocking), then go on from it as it is
      -- now; past that, stop below it: the watermark stays below it and the
      -- next run takes it first.
      v_patience := coalesce(v_patience, clock_timestamp() + interval '200 milliseconds');
      v_got := false;
      while not v_got and clock_timestamp() < v_patience loop
        perform pg_catalog.pg_sleep(0.001);
        perform from app.queue_tickets t
        where t.concert_id = v_queue.concert_id and t.queue_no = v_stop
        for update skip locked;
        v_got := found;
      end loop;
      exit when not v_got;
      v_from := v_stop - 1;
    end if;
  end loop;

  -- The watermark goes up to just below the first WAITING ticket above it in
  -- the closed part (a skipped one included), or to the end of the closed
  -- part: every ticket up to there has left the line, and no ticket can
  -- appear there any more.
  select coalesce(
           (select t.queue_no - 1
            from app.queue_tickets t
            where t.concert_id = v_queue.concert_id and t.queue_no > v_queue.admitted_upto
              and t.queue_no < queue_admit_next.closed_below
              and t.status <> 'ACTIVE' and t.status <> 'USED' and t.status <> 'LEFT' and t.status <> 'EXPIRED'
            order by t.queue_no
            limit 1),
           queue_admit_next.closed_below - 1)
    into v_upto;

  -- admit_rate: admissions per second, averaged exponentially over about a
  -- minute; the first run counts from one admission interval back. The row
  -- is written when something changed, and otherwise at most every 10 s (so
  -- that the rate decays while the cap is full): a run over a full cap
  -- rewrites nothing.
  v_dt := extract(epoch from queue_admit_next.at - coalesce(v_queue.rate_updated_at,
            queue_admit_next.at - make_interval(secs => app.setting('admit_interval_seconds', 1))))::double precision;
  if v_admitted > 0 or v_expired > 0 or v_upto > v_queue.admitted_upto
     or v_queue.rate_updated_at is null or v_dt >= 10 then
    update app.queues q
    set admitted_upto = greatest(q.admitted_upto, v_upto),
        admitted_total = q.admitted_total + v_admitted,
        admit_tokens = case when v_per_minute > 0 then v_tokens_now - v_admitted else q.admit_tokens end,
        tokens_at = case when v_per_minute > 0 then queue_admit_next.at else q.tokens_at end,
        admit_rate = case when v_dt > 0
                          then q.admit_rate + (1 - exp(-v_dt / 60)) * (v_admitted / v_dt - q.admit_rate)
                          else q.admit_rate + v_admitted / 60.0
                     end,
        rate_updated_at = greatest(q.rate_updated_at, queue_admit_next.at)
    where q.concert_id = v_queue.concert_id;
    -- the counters of spans now wholly behind the watermark
    perform app.queue_blocks_prune(v_queue.concert_id, v_queue.admitted_upto, v_upto);
  end if;

  if v_admitted > 0 then
    -- Channel boxoffice_queue, payload the concert_id: once per concert and
    -- admission transaction that admitted anyone, sent at its commit.
    perform pg_notify('boxoffice_queue', v_queue.concert_id::text);
  end if;
  admitted := v_admitted::integer;
end
$$;

comment on function app.queue_admit_next(bigint, bigint, timestamptz) is
'Admits one concert in the caller''s transaction: the first after after_concert_id (null: from the start) with
WAITING tickets below closed_below that no other admitter holds (FOR NO KEY UPDATE SKIP LOCKED), whose admission
is not paused and whose scheduled opening (if any) has passed at at. A concert not opened yet is opened first
(app.sale_open), once the line is closed up to the opening''s cut; nobody is admitted before. Tickets are
claimed oldest first with SKIP LOCKED; a skipped one (a poll, leave or sweep holding it) is waited for, up to
200 ms per call, and past that only the tickets below it are admitted, until the concert has queue_active_cap
ACTIVE tokens, and no faster than new_users_per_minute when that is set (a token bucket of one admission
interval); idle ones met on the way are expired instead. Admitted at at, for
active_token_seconds. NOTIFY boxoffice_queue, payload the concert_id, when anyone was admitted, and payload
''<concert_id> opened'' at the opening.
Result: concert_id (null when no concert is left) and the number admitted there.';

create or replace function api.queue_admit_next(
  after_concert_id bigint default null,
  out concert_id bigint,
  out admitted integer)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_closed bigint;
begin
  if queue_admit_next.after_concert_id is null then
    v_closed := app.queue_line_close(interval '200 milliseconds');
  else
    select l.closed_below into strict v_closed from app.queue_line l;
  end if;
  select n.concert_id, n.admitted into concert_id, admitted
  from app.queue_admit_next(queue_admit_next.after_concert_id, v_closed, now()) n;
end
$$;

comment on function api.queue_admit_next(bigint) is
'One step of an admission run (api.queue_admit_run calls it, one transaction each): admits the next concert after
after_concert_id that has people waiting and that no other admitter holds. With after_concert_id null (the run''s
first step) it first closes the line up to the last join that has ended (app.queue_line_close).
Parameters: after_concert_id, the concert of the previous step, or null.
Result: (concert_id, admitted): the concert admitted (null when none is left) and how many were admitted there.
Errors: none.';

revoke execute on function api.queue_admit_next(bigint) from public;
grant execute on function api.queue_admit_next(bigint) to boxoffice_api;

-- The admission job: one transaction per concert. A procedure, because only
-- a procedure can commit; and therefore SECURITY INVOKER without a SET
-- clause (PostgreSQL refuses COMMIT in either case). It only calls one
-- schema-qualified api function, which does the work as its owner.
create or replace procedure api.queue_admit_run(inout admitted integer default null)
language plpgsql
security invoker
as $$
declare
  v_after bigint;
  v_concert_id bigint;
  v_admitted integer;
begin
  admitted := 0;
  loop
    select n.concert_id, n.admitted into v_concert_id, v_admitted
    from api.queue_admit_next(v_after) n;
    commit;
    exit when v_concert_id is null;
    admitted := admitted + v_admitted;
    v_after := v_concert_id;
  end loop;
end
$$;

comment on procedure api.queue_admit_run(integer) is
'The admission job (CALL api.queue_admit_run(), every ADMIT_INTERVAL_SECONDS, outside a transaction block):
closes the line, then admits every concert with people waiting, each in a transaction of its own that commits
before the next concert is taken, so a run never holds one concert while it works on another, and admitters on
several instances split the concerts between them. Strictly in arrival order, never past queue_active_cap.
Result: admitted, the number of tickets admitted over all concerts.
Errors: none.';

revoke execute on procedure api.queue_admit_run(integer) from public;
grant execute on procedure api.queue_admit_run(integer) to boxoffice_api;

create or replace function app.queue_admit(at timestamptz)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_closed bigint := app.queue_line_close(interval '200 milliseconds');
  v_after bigint;
  v_concert_id bigint;
  v_admitted integer;
  v_total integer := 0;
begin
  loop
    select n.concert_id, n.admitted into v_concert_id, v_admitted
    from app.queue_admit_next(v_after, v_closed, queue_admit.at) n;
    exit when v_concert_id is null;
    v_total := v_total + v_admitted;
    v_after := v_concert_id;
  end loop;
  return v_total;
end
$$;

comment on function app.queue_admit(timestamptz) is
'api.queue_admit with its clock: every concert in the caller''s transaction, admitted at at (tests move time here).';

create or replace function api.queue_admit()
returns integer
language sql
volatile
security definer
set search_path = ''
as $$
  select app.queue_admit(now())
$$;

comment on function api.queue_admit() is
'Admits the next WAITING tickets of every concert, strictly in arrival order, until each has queue_active_cap
ACTIVE tokens, all in the caller''s transaction (for psql, tests and pg_cron; the scheduler runs
api.queue_admit_run, which commits after each concert). Safe to run from several sessions at once: a concert
another session is admitting is skipped. Idle WAITING tickets met on the way are expired instead. NOTIFY
boxoffice_queue, payload the concert_id, for each concert where anyone was admitted.
Result: the number of tickets admitted over all concerts.
Errors: none.';

revoke execute on function api.queue_admit() from public;
grant execute on function api.queue_admit() to boxoffice_api;

create or replace function app.tokens_expire(at timestamptz)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_idle_before timestamptz := tokens_expire.at - make_interval(secs => app.setting('waiting_idle_seconds', 300));
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
  -- held by leaves that wait for nothing). While it holds a WAITING ticket,
  -- admission stops below it. (The gate treats such a ticket as expired
  -- already.) Each half locks its due tickets in an ARRAY sub-select and
  -- updates them by token = any (...), always an Index Scan of
  -- queue_tickets_pkey (bench/explain/REPORT.md). ORDER BY last_seen_at
  -- keeps the WAITING half on queue_tickets_last_seen_at_idx however many
  -- rows the planner expects, and sweeps the longest idle first.
  update app.queue_tickets t
  set status = 'EXPIRED', ended_at = tokens_expire.at
  where t.token = any (array(
    select d.token
    from app.queue_tickets d
    where d.status = 'ACTIVE' and d.expires_at <= tokens_expire.at
    limit v_batch
    for update skip locked));
  get diagnostics v_active = row_count;

  -- Idle WAITING tickets are departures: counted in app.queue_blocks in this
  -- transaction, one batched update per block and group they fall in,
  -- taken last so that the rows stay locked only until the commit.
  with ended as (
    update app.queue_tickets t
    set status = 'EXPIRED', ended_at = tokens_expire.at
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

comment on function app.tokens_expire(timestamptz) is
'api.tokens_expire with its clock: expires what is due at at (tests move time through here).';

create or replace function api.tokens_expire()
returns integer
language sql
volatile
security definer
set search_path = ''
as $$
  select app.tokens_expire(now())
$$;

comment on function api.tokens_expire() is
'Marks EXPIRED the ACTIVE tokens past expires_at and the WAITING tokens not polled for waiting_idle_seconds
(the expiry job; at most 10 000 of each kind per call). Freed ACTIVE slots go to the next in line at the next
admission; the positions of tickets behind an expired WAITING one drop at once (it is counted in app.queue_blocks).
Result: the number of tokens expired.
Errors: none.';

revoke execute on function api.tokens_expire() from public;
grant execute on function api.tokens_expire() to boxoffice_api;
