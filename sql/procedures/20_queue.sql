-- The waiting room, seen from a user: join the line, poll it, leave it.
-- The admission job and the expiry sweep are in 21_queue_jobs.sql, the
-- counters in 22_queue_blocks.sql; docs/onsale.md tells the whole story.
--
-- A ticket's place is its queue_no, drawn from the sequence
-- app.queue_tickets_queue_no_seq (shared by every concert), so joins never
-- wait for one another nor for admission: a join takes no row lock but its
-- user's old ticket's. A sequence hands out numbers in order but they become
-- visible in commit order, and some never do (a rolled-back join, the 32 a
-- crash skips). app.queue_line.closed_below marks the closed part of the
-- line: every number below it was drawn and every join that drew one has
-- ended. app.queue_line_close moves it up: it reads the sequence, then the
-- joins in flight (each join holds a shared advisory lock from before it
-- draws its number until it ends, and one that names its number from just
-- after it draws it), and closes the line up to the first number a join in
-- flight holds.
--
-- Admission works strictly in queue_no order inside the closed part and
-- stops at a WAITING ticket it could not lock, so app.queues.admitted_upto
-- (the watermark) keeps its meaning: every ticket of the concert with
-- queue_no <= admitted_upto has left the line (admitted or gone), and above
-- it nobody was admitted. A WAITING ticket's position is then
--   1 + (tickets between the watermark and it)
--     - (departures between: LEFT, or EXPIRED while WAITING)
-- where both counts see only tickets visible to the poll (a gap or a join
-- still committing is counted by neither), from per-block counters
-- (app.queue_arrived, app.queue_departed) and the index for the few numbers
-- past them.
--
-- Lock order, for every function that takes more than one lock: the
-- concert's app.queues row first (admission only), then its tickets, then
-- its app.queue_blocks rows (in primary key order, one batch per
-- transaction). Joins, polls and leaves lock one ticket at most, then
-- counters. So no cycle can form.
--
-- Plans: every function here and in 21_queue_jobs.sql, 22_queue_blocks.sql
-- and 25_queue_events.sql that reads the line says set enable_seqscan = off,
-- and so do app.ticket_find, the routes of an admitted fan (dates, seats,
-- holds, reservations, balance) and app.payment_create. An on-sale's line grows from
-- nothing to thousands of tickets in seconds, and PL/pgSQL keeps, per
-- session, the generic plan it made after a statement's first five calls: a
-- server connection that made it while the line was a page long (a Seq Scan
-- of app.queue_tickets is the cheapest plan then) kept reading the whole line
-- on every poll, which made a poll cost 1.5-2 ms instead of 0.3 ms in an
-- on-sale (and a hold's count of the fan's holds scanned every reservation).
-- Every statement on the line finds its rows through an index, so
-- the setting costs nothing when the line is long and a little when it is
-- short (sql/tests/queue_status/plans_made_early.test.sql). Each also says
-- set jit = off: a statement that can only scan (app.queue_line's one row,
-- the sequence) is costed 10^10 with sequential scans off, far past
-- jit_above_cost, and PostgreSQL then compiled it with LLVM on every
-- admission run: 55-290 ms for a statement that takes a tenth of a
-- millisecond, and an admission run of 0.5-0.7 s in an on-sale.

drop function if exists api.queue_join(bigint, bigint, timestamptz);
drop function if exists api.queue_join(bigint, bigint);
drop function if exists api.queue_status(uuid, timestamptz);
drop function if exists api.queue_leave(uuid, timestamptz);

-- The Ticket JSON.
create or replace function app.ticket_json(ticket app.queue_tickets)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_position bigint := 0::bigint;
  v_rate double precision;
  v_wait bigint := 0::bigint;
  v_opens_at timestamptz;
  v_paused boolean;
begin
  if (ticket_json.ticket).status = 'WAITING' then
    -- One statement, so the watermark, the counters, the concert's sale and
    -- the ticket's number come from one snapshot (the counting functions are
    -- stable: they read this statement's). The number is read again when the
    -- concert has a scheduled opening: the opening may have moved it since
    -- the caller read the ticket. Before the opening (a pre-queue) there is
    -- no position. greatest(1, ...) covers a ticket admitted after the caller
    -- read it (its next poll shows it ACTIVE).
    select c.sale_opens_at, c.sale_paused,
           case when c.sale_opens_at is null
                then greatest(1, 1
                       + app.queue_arrived(q.concert_id, q.admitted_upto, (ticket_json.ticket).queue_no, coalesce(k.counted_below, 0))
                       - app.queue_departed(q.concert_id, q.admitted_upto, (ticket_json.ticket).queue_no))
                when c.sale_opened_at is not null
                then greatest(1, 1
                       + app.queue_arrived(q.concert_id, q.admitted_upto, n.queue_no, coalesce(k.counted_below, 0))
                       - app.queue_departed(q.concert_id, q.admitted_upto, n.queue_no))
           end,
           -- The observed rate, but never below the rate the policy
           -- guarantees while people wait: every ACTIVE token frees its slot
           -- within active_token_seconds, so at least queue_active_cap are
           -- admitted per active_token_seconds. That floor is also the
           -- estimate before any admission was observed, and it keeps the
           -- estimate from exploding while a full cap makes the observed
           -- minute average decay towards zero. new_users_per_minute, when
           -- set, caps it.
           least(greatest(q.admit_rate,
                          greatest(coalesce(p.active_cap, 100), 1)::double precision
                          / greatest(coalesce(p.active_seconds, 600), 1)),
                 case when p.per_minute > 0 then p.per_minute / 60.0 end)
      into v_opens_at, v_paused, v_position, v_rate
    from app.queues q
    join app.concerts c on c.concert_id = q.concert_id
    left join app.queue_counted k on k.concert_id = q.concert_id
    -- the three settings in this statement (app.setting's fallbacks), not
    -- three calls of it: each call is a statement of its own
    cross join (select max(s.value) filter (where s.name = 'queue_active_cap') as active_cap,
                       max(s.value) filter (where s.name = 'active_token_seconds') as active_seconds,
                       max(s.value) filter (where s.name = 'new_users_per_minute') as per_minute
                from app.settings s
                where s.name in ('queue_active_cap', 'active_token_seconds', 'new_users_per_minute')) p
    left join lateral (select t.queue_no
                       from app.queue_tickets t
                       where c.sale_opens_at is not null and t.token = (ticket_json.ticket).token) n on true
    where q.concert_id = (ticket_json.ticket).concert_id;
    -- no estimate in a pre-queue or while admission is paused
    v_wait := case when v_position is not null and not v_paused then ceil(v_position / v_rate)::bigint end;
  else
    select c.sale_opens_at into v_opens_at from app.concerts c where c.concert_id = (ticket_json.ticket).concert_id;
  end if;
  return jsonb_build_object(
    'token', (ticket_json.ticket).token,
    'userId', (ticket_json.ticket).user_id,
    'concertId', (ticket_json.ticket).concert_id,
    'status', (ticket_json.ticket).status,
    'position', v_position,
    'estimatedWaitSeconds', v_wait,
    'expiresAt', case when (ticket_json.ticket).status = 'ACTIVE' then app.iso((ticket_json.ticket).expires_at) end,
    'saleOpensAt', app.iso(v_opens_at));
end
$$;

comment on function app.ticket_json(app.queue_tickets) is
'The Ticket JSON of a live ticket: {"token", "userId", "concertId", "status", "position", "estimatedWaitSeconds", "expiresAt",
"saleOpensAt"}. position is 1-based among the WAITING tickets of the concert visible to this statement (0 when ACTIVE): the
tickets between the admitted_upto watermark and this one (app.queue_arrived) minus the departures among them
(app.queue_departed), each from a few counters, so it costs the same at a million waiting tickets as at ten.
A number skipped by the sequence or a join not yet committed is not counted. estimatedWaitSeconds is position
over the admission rate observed (a one-minute exponential average), floored at the rate the policy guarantees
(queue_active_cap per active_token_seconds) and capped at new_users_per_minute when that is set; 0 when ACTIVE.
saleOpensAt is the concert''s scheduled opening (null when it has none). Before the opening is done (the
pre-queue) position and estimatedWaitSeconds are null; while admission is paused estimatedWaitSeconds is null.';

-- "Still here": a poll of a WAITING ticket records last_seen_at, but only
-- when the stored value is older than a third of waiting_idle_seconds (at
-- most 30 s), so that most polls only read. An ACTIVE ticket is never
-- written (only WAITING tickets go idle): its row is the one a payment
-- updates, and a poll's write there made the payment's SERIALIZABLE
-- transaction fail with 40001.
create or replace function app.ticket_seen(ticket app.queue_tickets, at timestamptz)
returns app.queue_tickets
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_before timestamptz := ticket_seen.at
    - make_interval(secs => least(app.setting('waiting_idle_seconds', 300) / 3.0, 30)::double precision);
  v_ticket app.queue_tickets;
begin
  if (ticket_seen.ticket).status <> 'WAITING' or (ticket_seen.ticket).last_seen_at >= v_before then
    return ticket_seen.ticket;
  end if;
  update app.queue_tickets t
  set last_seen_at = ticket_seen.at
  where t.token = (ticket_seen.ticket).token
    and t.status = 'WAITING'
    and t.last_seen_at < v_before
  returning * into v_ticket;
  if not found then
    -- changed meanwhile (another poll recorded it, admitted, or it left): keep what the caller saw
    return ticket_seen.ticket;
  end if;
  return v_ticket;
end
$$;

comment on function app.ticket_seen(app.queue_tickets, timestamptz) is
'Records that a WAITING ticket''s user is still here at at, when last_seen_at is older than
least(waiting_idle_seconds / 3, 30) s; an ACTIVE ticket is left alone. Returns the ticket as it is now.';

-- The advisory lock every join holds, shared, from before it draws its
-- queue number until it ends; app.queue_line_close reads its holders in
-- pg_locks (classid 1114793 = 0x1102A9, objid 1, objsubid 2).
create or replace function app.queue_join_mark()
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock_shared(1114793, 1);
end
$$;

comment on function app.queue_join_mark() is
'Takes the shared advisory lock (1114793, 1) that marks a join in flight until its transaction ends; call it
before drawing a number from app.queue_tickets_queue_no_seq (app.queue_line_close waits for its holders).';

-- The advisory lock a join holds, shared, from just after it draws queue
-- number no until it ends, so that app.queue_line_close can read which
-- number each join in flight holds: the 64-bit key (1114794 << 32) + no,
-- which pg_locks shows as classid 1114794 + (no >> 32), objid no & (2^32 - 1),
-- objsubid 1 (app.queue_join_number_of reads it back).
create or replace function app.queue_join_number(no bigint)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock_shared((1114794::bigint << 32) + queue_join_number.no);
end
$$;

comment on function app.queue_join_number(bigint) is
'Takes the shared advisory lock (1114794 << 32) + no that names the queue number a join in flight drew, until its
transaction ends; call it right after drawing no (app.queue_line_close reads it in pg_locks).';

create or replace function app.queue_join(
  user_id bigint,
  concert_id bigint,
  at timestamptz,
  out status integer,
  out body jsonb)
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
#variable_conflict use_column
declare
  v_ticket app.queue_tickets;
  v_departed boolean;
  v_queue_no bigint;
  v_no bigint;
  v_drawn_at timestamptz;
  v_counted bigint;
begin
  if queue_join.user_id is null or queue_join.concert_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'userId and concertId are required';
  end if;
  perform from app.users u where u.user_id = queue_join.user_id;
  if not found then
    raise exception using errcode = 'CR101', message = 'user not found',
      detail = 'no user ' || queue_join.user_id || ' exists';
  end if;
  perform from app.concerts c where c.concert_id = queue_join.concert_id;
  if not found then
    raise exception using errcode = 'CR102', message = 'concert not found',
      detail = 'no concert ' || queue_join.concert_id || ' exists';
  end if;

  -- The concert's queue row, made by its first join; read without a lock,
  -- with how far its arrivals are counted.
  select coalesce(k.counted_below, 0) into v_counted
  from app.queues q
  left join app.queue_counted k on k.concert_id = q.concert_id
  where q.concert_id = queue_join.concert_id;
  if not found then
    insert into app.queues (concert_id) values (queue_join.concert_id)
    on conflict on constraint queues_pkey do nothing;
    v_counted := 0;
  end if;

  select * into v_ticket
  from app.queue_tickets t
  where t.user_id = queue_join.user_id
    and t.concert_id = queue_join.concert_id
    and t.status in ('WAITING', 'ACTIVE');
  if found then
    if not app.ticket_live(v_ticket, queue_join.at) then
      -- dead already, though no sweep has marked it yet: end it (a WAITING
      -- one is a departure), then a new ticket. The status is read again
      -- under the row lock; a concurrent join of the same user ended it
      -- first, then this one meets that one's new ticket below.
      -- The departure is counted at the number the row has now (a scheduled
      -- opening may have moved it since it was read).
      update app.queue_tickets t
      set status = 'EXPIRED', ended_at = queue_join.at
      where t.token = v_ticket.token and t.status in ('WAITING', 'ACTIVE')
      returning t.activated_at is null, t.queue_no into v_departed, v_queue_no;
      if v_departed then
        perform app.queue_blocks_add(array[v_ticket.concert_id], array[v_queue_no]);
      end if;
    else
      status := 200;
      body := app.ticket_json(app.ticket_seen(v_ticket, queue_join.at));
      return;
    end if;
  end if;

  -- A new ticket at the back of the line. Two joins of one user at once:
  -- the second waits on queue_tickets_user_id_concert_id_key for the first
  -- to commit, inserts nothing (its number stays a gap) and answers with the
  -- first's ticket. Should that ticket have ended meanwhile (a leave or a
  -- sweep committed in between), there is no live ticket to answer with, so
  -- the join tries again with a new number.
  --
  -- joined_at is the moment the number was drawn, in the caller's clock (at,
  -- moved on by the time this transaction has run): a scheduled opening puts
  -- in its pre-queue exactly the tickets whose number was drawn before it
  -- (26_queue_sale.sql), however long the join took to get there.
  perform app.queue_join_mark();
  loop
    v_no := nextval('app.queue_tickets_queue_no_seq');
    v_drawn_at := queue_join.at + (clock_timestamp() - now());
    perform app.queue_join_number(v_no);
    insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
    values (queue_join.concert_id, v_no, queue_join.user_id, 'WAITING', v_drawn_at, queue_join.at)
    on conflict (user_id, concert_id) where status in ('WAITING', 'ACTIVE') do nothing
    returning * into v_ticket;
    exit when found;
    select * into v_ticket
    from app.queue_tickets t
    where t.user_id = queue_join.user_id
      and t.concert_id = queue_join.concert_id
      and t.status in ('WAITING', 'ACTIVE');
    if found then
      status := 200;
      body := app.ticket_json(v_ticket);
      return;
    end if;
  end loop;

  -- The new ticket's position counts the line past the counted part on the
  -- index, one entry per ticket; far past it, this join counts first (a
  -- batch every app.queue_count_every() numbers or so, never waiting), so
  -- that no join or poll counts more than about that many, whether or not
  -- admission runs (22_queue_blocks.sql).
  if v_no - v_counted >= app.queue_count_every() then
    perform app.queue_count_help(queue_join.concert_id);
  end if;

  status := 201;
  body := app.ticket_json(v_ticket);
end
$$;

comment on function app.queue_join(bigint, bigint, timestamptz) is
'api.queue_join with its clock: joins at at (tests move time through here).';

create or replace function api.queue_join(
  user_id bigint,
  concert_id bigint,
  api_key text default null,
  out status integer,
  out body jsonb)
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  -- the key's user first (CR305, CR306, CR304): the rule then acts for that user alone
  select j.status, j.body into status, body
  from app.queue_join(app.user_key_check(queue_join.api_key, queue_join.user_id), queue_join.concert_id, now()) j;
end
$$;

comment on function api.queue_join(bigint, bigint, text) is
'Joins the waiting room of a concert (POST /api/queue/tokens).
Parameters: user_id (optional with a key, which it must match); concert_id; api_key, the user''s API key
(may be null when the setting user_keys is optional, and user_id is then required).
Result: (status, body): 201 and a new WAITING Ticket at the back of the line, or 200 and the user''s live ticket for
that concert. A ticket that is past its time but not yet swept is marked EXPIRED first and a new one made.
Joins take their place from a sequence and never wait for one another nor for admission.
Ticket: {"token", "userId", "concertId", "status": "WAITING"|"ACTIVE", "position", "estimatedWaitSeconds", "expiresAt",
"saleOpensAt"}; before a scheduled opening (the pre-queue) position and estimatedWaitSeconds are null.
Errors: CR305 no key while keys are required, CR306 wrong key, CR304 user_id not the key''s user,
CR001 missing parameter, CR101 unknown user, CR102 unknown concert.';

revoke execute on function api.queue_join(bigint, bigint, text) from public;
grant execute on function api.queue_join(bigint, bigint, text) to boxoffice_api;

create or replace function app.queue_status(token uuid, at timestamptz)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_ticket app.queue_tickets;
begin
  v_ticket := app.ticket_gate(queue_status.token, null, false, queue_status.at);
  v_ticket := app.ticket_seen(v_ticket, queue_status.at);
  return app.ticket_json(v_ticket);
end
$$;

comment on function app.queue_status(uuid, timestamptz) is
'api.queue_status with its clock: a poll at at (tests move time through here).';

create or replace function api.queue_status(token uuid)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return app.queue_status(queue_status.token, now());
end
$$;

comment on function api.queue_status(uuid) is
'The ticket of a live token (GET /api/queue/tokens/me); each call is a poll that keeps a WAITING ticket''s place
(last_seen_at is written at most every least(waiting_idle_seconds / 3, 30) s; an ACTIVE ticket is only read).
Parameters: token.
Result: Ticket {"token", "userId", "concertId", "status": "WAITING"|"ACTIVE", "position", "estimatedWaitSeconds", "expiresAt",
"saleOpensAt"}; position and estimatedWaitSeconds are null in the pre-queue of a scheduled opening, and
estimatedWaitSeconds while admission is paused; position never goes up while the user keeps polling, but for a join ahead that was still committing.
Errors: CR301 unknown token, CR302 expired, left or used up.';

revoke execute on function api.queue_status(uuid) from public;
grant execute on function api.queue_status(uuid) to boxoffice_api;

-- When a waiting client should poll next: the X-Poll-Interval header of a
-- join and a poll. An admission run admits at most queue_active_cap people
-- of a concert (fewer under new_users_per_minute), and runs come every
-- admit_interval_seconds, so a ticket at position p cannot be admitted in
-- less than ceil(p / per run) - 1 runs: polling sooner only tells it the
-- same, and 10 000 fans polling every second are more requests than the
-- on-sale's joins and purchases together. Clamped to 1 s at the front, and
-- to 15 s (a quarter of waiting_idle_seconds when that is shorter, so that
-- a client that follows it keeps its place) at the back; the next answers
-- shorten it as the ticket moves up. It bounds admissions only: people
-- ahead who leave or are evicted move a ticket up sooner, and then its
-- holder hears of its admission up to one interval late. In the pre-queue,
-- the time to the opening plus one admission interval (the run that puts
-- the pre-queue in order), within the same bounds; while admission is
-- paused, the longest. Null for an ACTIVE ticket: no more waiting.
create or replace function app.queue_poll_seconds(ticket jsonb, at timestamptz)
returns integer
language plpgsql
stable
security invoker
set search_path = ''
set jit = off
as $$
declare
  v_longest bigint;
  v_run_seconds bigint;
  v_per_run bigint;
begin
  if queue_poll_seconds.ticket ->> 'status' is distinct from 'WAITING' then
    return null;
  end if;
  -- the four settings in one statement (app.setting's fallbacks), not four
  -- calls of it: each call is a statement of its own
  select least(15, greatest(1, p.idle_seconds / 4)),
         greatest(1, p.run_seconds),
         -- admission's burst under new_users_per_minute (21_queue_jobs.sql)
         greatest(1, least(p.active_cap,
                           case when p.per_minute > 0
                                then floor(greatest(1.0, p.per_minute * p.run_seconds / 60.0))::bigint end))
    into v_longest, v_run_seconds, v_per_run
  from (select coalesce(max(s.value) filter (where s.name = 'waiting_idle_seconds'), 300) as idle_seconds,
               coalesce(max(s.value) filter (where s.name = 'admit_interval_seconds'), 1) as run_seconds,
               coalesce(max(s.value) filter (where s.name = 'queue_active_cap'), 100) as active_cap,
               coalesce(max(s.value) filter (where s.name = 'new_users_per_minute'), 0) as per_minute
        from app.settings s
        where s.name in ('waiting_idle_seconds', 'admit_interval_seconds', 'queue_active_cap', 'new_users_per_minute')) p;
  if queue_poll_seconds.ticket ->> 'position' is null then
    -- the pre-queue: until the admission run after the opening, which puts
    -- it in order (polls before that only hear "no position yet")
    return least(v_longest, v_run_seconds + greatest(0, ceil(extract(epoch from
             (queue_poll_seconds.ticket ->> 'saleOpensAt')::timestamptz - queue_poll_seconds.at))))::integer;
  end if;
  if queue_poll_seconds.ticket ->> 'estimatedWaitSeconds' is null then
    -- a position but no estimate: admission is paused, nothing moves
    return v_longest::integer;
  end if;
  return least(v_longest, greatest(1,
           (ceil((queue_poll_seconds.ticket ->> 'position')::numeric / v_per_run) - 1) * v_run_seconds))::integer;
end
$$;

comment on function app.queue_poll_seconds(jsonb, timestamptz) is
'api.queue_poll_seconds with its clock.';

create or replace function api.queue_poll_seconds(ticket jsonb)
returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return app.queue_poll_seconds(queue_poll_seconds.ticket, now());
end
$$;

comment on function api.queue_poll_seconds(jsonb) is
'When the holder of a Ticket (as api.queue_join and api.queue_status answer it) should poll next, in seconds: the
X-Poll-Interval header of a join and a poll. For a WAITING ticket at position p, (ceil(p / per run) - 1) *
admit_interval_seconds, where per run is queue_active_cap (or the burst new_users_per_minute allows, when lower):
no admission can reach it sooner (people ahead who leave or are evicted can move it up sooner). At least 1, at most
15 (or waiting_idle_seconds / 4, when lower). In the pre-queue of a scheduled opening, the seconds to the opening
plus admit_interval_seconds, within the same bounds; while admission is paused (a position but no
estimatedWaitSeconds), the longest. Null for an ACTIVE ticket.
Parameters: ticket. Errors: none.';

revoke execute on function api.queue_poll_seconds(jsonb) from public;
grant execute on function api.queue_poll_seconds(jsonb) to boxoffice_api;

create or replace function app.queue_leave(token uuid, at timestamptz)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_ticket app.queue_tickets;
  v_departed boolean;
  v_queue_no bigint;
begin
  v_ticket := app.ticket_gate(queue_leave.token, null, false, queue_leave.at);
  -- A freed ACTIVE slot goes to the next in line at the next admission run
  -- (every ADMIT_INTERVAL_SECONDS); no NOTIFY here, the admission sends one.
  -- The status is read again under the row lock: admitted meanwhile, the
  -- ticket gives up an ACTIVE slot, which is no departure from the line.
  -- While this holds a WAITING ticket, admission stops below it. The
  -- departure is counted at the number the row has now: a scheduled opening
  -- may have moved it since the gate read it.
  update app.queue_tickets t
  set status = 'LEFT', ended_at = queue_leave.at
  where t.token = v_ticket.token and t.status in ('WAITING', 'ACTIVE')
  returning t.activated_at is null, t.queue_no into v_departed, v_queue_no;
  if not found then
    raise exception using errcode = 'CR302', message = 'token expired',
      detail = 'the queue token is no longer live; join the queue again';
  end if;
  if v_departed then
    perform app.queue_blocks_add(array[v_ticket.concert_id], array[v_queue_no]);
  end if;
end
$$;

comment on function app.queue_leave(uuid, timestamptz) is
'api.queue_leave with its clock: leaves at at (tests move time through here).';

create or replace function api.queue_leave(token uuid)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  perform app.queue_leave(queue_leave.token, now());
end
$$;

comment on function api.queue_leave(uuid) is
'Gives up a place in the line or an ACTIVE slot (DELETE /api/queue/tokens/me): the ticket becomes LEFT.
Parameters: token.
Result: none (HTTP 204).
Errors: CR301 unknown token, CR302 expired, left or used up.';

revoke execute on function api.queue_leave(uuid) from public;
grant execute on function api.queue_leave(uuid) to boxoffice_api;
