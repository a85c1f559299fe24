-- The waiting room, seen from a user: join the line, poll it, leave it.
-- The admission job and the expiry sweep are in 21_queue_jobs.sql.
--
-- A ticket's place is its queue_no, handed out by its concert's app.queues
-- row. Admission goes strictly in queue_no order, so every ticket that was
-- ever admitted (ACTIVE, USED, or EXPIRED after being ACTIVE) sits at or below
-- app.queues.admitted_upto. Between the watermark and a ticket there are only
-- WAITING tickets and tickets that left the line without being admitted
-- (LEFT or EXPIRED with activated_at null: "departures"), so
--   position = queue_no - admitted_upto - (those departures in between)
-- and the departures come from per-block counters (app.queue_departed,
-- 22_queue_blocks.sql) instead of counting the whole line, or every
-- departure ahead. Every function here that ends a WAITING ticket counts it
-- there (app.queue_blocks_add) in the same transaction.
--
-- Lock order, for every function that takes more than one lock: the
-- concert's app.queues row first, then its tickets, then its app.queue_blocks
-- rows (in primary key order, one batch per transaction). Functions that
-- lock tickets only (poll, leave, payment) take one row; the expiry sweep
-- skips locked tickets and waits only for counter rows. The admitter, which
-- goes on to the next concert's tickets, takes no counter row a departure
-- could want (it only prunes spans behind the watermark). So no cycle can
-- form.

-- The Ticket JSON of API.md §2.
create or replace function app.ticket_json(ticket app.queue_tickets)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_position bigint := 0::bigint;
  v_rate double precision;
  v_wait bigint := 0::bigint;
begin
  if (ticket_json.ticket).status = 'WAITING' then
    -- One statement, so the watermark and the departures come from one
    -- snapshot (app.queue_departed is stable: it reads this statement's):
    -- read apart, an admission committing in between could make the
    -- position jump up for one poll. The greatest(1, ...) covers a ticket
    -- admitted after the caller read it (its next poll shows it ACTIVE).
    select greatest(1, (ticket_json.ticket).queue_no - q.admitted_upto
                       - app.queue_departed(q.concert_id, q.admitted_upto, (ticket_json.ticket).queue_no)),
           -- The observed rate, but never below the rate the policy
           -- guarantees while people wait: every ACTIVE token frees its slot
           -- within active_token_seconds, so at least queue_active_cap are
           -- admitted per active_token_seconds. That floor is also the
           -- estimate before any admission was observed, and it keeps the
           -- estimate from exploding while a full cap makes the observed
           -- minute average decay towards zero.
           greatest(q.admit_rate,
                    greatest(app.setting('queue_active_cap', 100), 1)::double precision
                    / greatest(app.setting('active_token_seconds', 600), 1))
      into v_position, v_rate
    from app.queues q
    where q.concert_id = (ticket_json.ticket).concert_id;
    v_wait := ceil(v_position / v_rate)::bigint;
  end if;
  return jsonb_build_object(
    'token', (ticket_json.ticket).token,
    'userId', (ticket_json.ticket).user_id,
    'concertId', (ticket_json.ticket).concert_id,
    'status', (ticket_json.ticket).status,
    'position', v_position,
    'estimatedWaitSeconds', v_wait,
    'expiresAt', case when (ticket_json.ticket).status = 'ACTIVE' then app.iso((ticket_json.ticket).expires_at) end);
end
$$;

comment on function app.ticket_json(app.queue_tickets) is
'The Ticket JSON of a live ticket: {"token", "userId", "concertId", "status", "position", "estimatedWaitSeconds", "expiresAt"}.
position is 1-based among the live WAITING tickets of the concert (0 when ACTIVE), from the admitted_upto
watermark minus the departures since (app.queue_departed: a few counters), so it costs the same at a million
waiting tickets as at ten, however many of them left the line. estimatedWaitSeconds is position over the
admission rate observed (a one-minute exponential average), floored at the rate the policy guarantees
(queue_active_cap per active_token_seconds); 0 when ACTIVE.';

-- "Still here": a poll records last_seen_at, but only when the stored value
-- is older than a third of waiting_idle_seconds (at most 30 s), so that most
-- polls only read while a polling user stays well inside the idle limit.
create or replace function app.ticket_seen(ticket app.queue_tickets, at timestamptz)
returns app.queue_tickets
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_before timestamptz := ticket_seen.at
    - make_interval(secs => least(app.setting('waiting_idle_seconds', 300) / 3.0, 30)::double precision);
  v_ticket app.queue_tickets;
begin
  if (ticket_seen.ticket).last_seen_at >= v_before then
    return ticket_seen.ticket;
  end if;
  update app.queue_tickets t
  set last_seen_at = ticket_seen.at
  where t.token = (ticket_seen.ticket).token
    and t.status in ('WAITING', 'ACTIVE')
    and t.last_seen_at < v_before
  returning * into v_ticket;
  if not found then
    -- changed meanwhile (another poll recorded it, or it left): keep what the caller saw
    return ticket_seen.ticket;
  end if;
  return v_ticket;
end
$$;

comment on function app.ticket_seen(app.queue_tickets, timestamptz) is
'Records that the ticket''s user is still here at at, when last_seen_at is older than least(waiting_idle_seconds / 3, 30) s.
Returns the ticket as it is now.';

create or replace function api.queue_join(
  user_id bigint,
  concert_id bigint,
  api_key text default null,
  as_of timestamptz default null,
  out status integer,
  out body jsonb)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := coalesce(queue_join.as_of, now());
  v_ticket app.queue_tickets;
  v_queue_no bigint;
  v_departed boolean;
begin
  if queue_join.concert_id is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'concertId is required';
  end if;
  -- the key's user (user_id, when given, must be it); CR305, CR306, CR304
  queue_join.user_id := app.user_key_check(queue_join.api_key, queue_join.user_id);
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

  -- Joins of one concert go one at a time on its queue row: the user's live
  -- ticket is looked up under the lock, so two joins of one user never both
  -- make a ticket, and queue_no is handed out in commit order.
  insert into app.queues (concert_id) values (queue_join.concert_id)
  on conflict on constraint queues_pkey do nothing;
  perform from app.queues q where q.concert_id = queue_join.concert_id for update;

  select * into v_ticket
  from app.queue_tickets t
  where t.user_id = queue_join.user_id
    and t.concert_id = queue_join.concert_id
    and t.status in ('WAITING', 'ACTIVE');
  if found then
    if (v_ticket.status = 'ACTIVE' and v_ticket.expires_at <= v_now)
       or (v_ticket.status = 'WAITING'
           and v_ticket.last_seen_at <= v_now - make_interval(secs => app.setting('waiting_idle_seconds', 300))) then
      -- dead already, though no sweep has marked it yet: end it (a WAITING
      -- one is a departure), then a new ticket
      update app.queue_tickets t
      set status = 'EXPIRED', ended_at = v_now
      where t.token = v_ticket.token and t.status in ('WAITING', 'ACTIVE')
      returning t.activated_at is null into v_departed;
      if v_departed then
        perform app.queue_blocks_add(array[v_ticket.concert_id], array[v_ticket.queue_no]);
      end if;
    else
      status := 200;
      body := app.ticket_json(app.ticket_seen(v_ticket, v_now));
      return;
    end if;
  end if;

  update app.queues q
  set next_no = q.next_no + 1
  where q.concert_id = queue_join.concert_id
  returning q.next_no - 1 into v_queue_no;

  insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
  values (queue_join.concert_id, v_queue_no, queue_join.user_id, 'WAITING', v_now, v_now)
  returning * into v_ticket;

  status := 201;
  body := app.ticket_json(v_ticket);
end
$$;

comment on function api.queue_join(bigint, bigint, text, timestamptz) is
'Joins the waiting room of a concert (POST /api/queue/tokens).
Parameters: user_id (optional with a key, which it must match); concert_id; api_key, the user''s API key
(may be null when the setting user_keys is optional, and user_id is then required); as_of (tests only; default now()).
Result: (status, body): 201 and a new WAITING Ticket at the back of the line, or 200 and the user''s live ticket for
that concert. A ticket that is past its time but not yet swept is marked EXPIRED first and a new one made.
Ticket: {"token", "userId", "concertId", "status": "WAITING"|"ACTIVE", "position", "estimatedWaitSeconds", "expiresAt"}.
Errors: CR001 missing parameter, CR305 no key while keys are required, CR306 wrong key, CR304 user_id not the
key''s user, CR101 unknown user, CR102 unknown concert.';

revoke execute on function api.queue_join(bigint, bigint, text, timestamptz) from public;
grant execute on function api.queue_join(bigint, bigint, text, timestamptz) to boxoffice_api;

create or replace function api.queue_status(token uuid, as_of timestamptz default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := coalesce(queue_status.as_of, now());
  v_ticket app.queue_tickets;
begin
  v_ticket := app.ticket_gate(queue_status.token, null, false, v_now);
  v_ticket := app.ticket_seen(v_ticket, v_now);
  return app.ticket_json(v_ticket);
end
$$;

comment on function api.queue_status(uuid, timestamptz) is
'The ticket of a live token (GET /api/queue/tokens/me); each call is a poll that keeps a WAITING ticket''s place
(last_seen_at is written at most every least(waiting_idle_seconds / 3, 30) s).
Parameters: token; as_of (tests only; default now()).
Result: Ticket {"token", "userId", "concertId", "status": "WAITING"|"ACTIVE", "position", "estimatedWaitSeconds", "expiresAt"};
position never goes up while the user keeps polling.
Errors: CR301 unknown token, CR302 expired, left or used up.';

revoke execute on function api.queue_status(uuid, timestamptz) from public;
grant execute on function api.queue_status(uuid, timestamptz) to boxoffice_api;

create or replace function api.queue_leave(token uuid, as_of timestamptz default null)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := coalesce(queue_leave.as_of, now());
  v_ticket app.queue_tickets;
  v_departed boolean;
begin
  v_ticket := app.ticket_gate(queue_leave.token, null, false, v_now);
  -- A freed ACTIVE slot goes to the next in line at the next admission run
  -- (every ADMIT_INTERVAL_SECONDS); no NOTIFY here, the admission sends one.
  -- The status is read again under the row lock: admitted meanwhile, the
  -- ticket gives up an ACTIVE slot, which is no departure from the line.
  update app.queue_tickets t
  set status = 'LEFT', ended_at = v_now
  where t.token = v_ticket.token and t.status in ('WAITING', 'ACTIVE')
  returning t.activated_at is null into v_departed;
  if not found then
    raise exception using errcode = 'CR302', message = 'token expired',
      detail = 'the queue token is no longer live; join the queue again';
  end if;
  if v_departed then
    perform app.queue_blocks_add(array[v_ticket.concert_id], array[v_ticket.queue_no]);
  end if;
end
$$;

comment on function api.queue_leave(uuid, timestamptz) is
'Gives up a place in the line or an ACTIVE slot (DELETE /api/queue/tokens/me): the ticket becomes LEFT.
Parameters: token; as_of (tests only; default now()).
Result: none (HTTP 204).
Errors: CR301 unknown token, CR302 expired, left or used up.';

revoke execute on function api.queue_leave(uuid, timestamptz) from public;
grant execute on function api.queue_leave(uuid, timestamptz) to boxoffice_api;
