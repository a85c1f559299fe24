-- Private helpers shared by the api functions: settings, time, errors, the
-- token gate and idempotency keys. Nothing here is executable by the server's
-- role; the api functions (SECURITY DEFINER) call them as their owner.

-- Functions whose signature changed go here, dropped in the same transaction
-- that installs their replacements and new callers (boxoffice migrate applies
-- every procedure file in one transaction), so that no session ever calls a
-- function that is gone: app.idempotency_begin became app.idempotency_claim
-- (a reused key is reported, and raised as CR204 after the token checks).
drop function if exists app.idempotency_begin(bigint, text, text);
-- app.idempotency_claim takes the token and hashes the request itself, which
-- app.token_user served.
drop function if exists app.idempotency_claim(bigint, text, text);
drop function if exists app.token_user(uuid);
-- app.ticket_find learned active_first: the routes of an admitted fan look
-- on the ACTIVE index first, the line's polls and leaves on the primary key.
drop function if exists app.ticket_find(uuid);

-- The api functions of 30_concerts.sql, 31_reservations.sql, 32_seats.sql,
-- 40_balance.sql and 80_jobs.sql lost their as_of argument: the server's role
-- may execute them, and a clock it could pass would let it pay for a lapsed
-- hold (the rule with its clock lives on in an app function of the same name,
-- which tests call). api.queue_join takes the user's API key.
drop function if exists api.concert_list(timestamptz);
drop function if exists api.concert_dates(uuid, bigint, timestamptz);
drop function if exists api.seat_list(uuid, bigint, bigint, timestamptz);
drop function if exists api.reservation_get(uuid, bigint, timestamptz);
drop function if exists api.reservation_cancel(uuid, bigint, timestamptz);
drop function if exists api.seat_hold(uuid, bigint, bigint, integer, bigint, text, timestamptz);
drop function if exists api.holds_expire(timestamptz);
drop function if exists api.balance_get(uuid, timestamptz);
drop function if exists api.balance_charge(uuid, bigint, bigint, text, timestamptz);
drop function if exists api.balance_history(uuid, integer, timestamptz);
drop function if exists api.job_runs_prune(timestamptz);
drop function if exists api.queue_join(bigint, bigint, timestamptz);

-- A policy value: its row in app.settings (0006), which only the owner can
-- write (api.setting_set). Nothing in the caller's session can change it: a
-- SET boxoffice.<name> is ignored. fallback answers for a name with no row.
-- PL/pgSQL, not SQL, here and in app.iso: a SQL function with a SET clause
-- is never inlined, and PostgreSQL parses and plans its body on every call
-- (15-25 us each, several times a poll), where PL/pgSQL keeps its plan for
-- the session.
create or replace function app.setting(name text, fallback bigint)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return coalesce((select s.value from app.settings s where s.name = setting.name), setting.fallback);
end
$$;

comment on function app.setting(text, bigint) is
'The policy value name from app.settings, or fallback when it has no row. Session settings play no part.';

-- Times in API JSON: ISO 8601 in UTC, to the second.
create or replace function app.iso(at timestamptz)
returns text
language plpgsql
immutable
security invoker
set search_path = ''
as $$
begin
  return to_char(iso.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
end
$$;

comment on function app.iso(timestamptz) is 'at as ISO 8601 UTC text, to the second; null stays null.';

-- The token gate's parts. app.ticket_find and app.ticket_live (and
-- app.reservation_owner_check in 31_reservations.sql) run on nearly every
-- request, inside a function that has set search_path to '', so they have
-- no SET clause of their own: one saves and restores the setting on every
-- call, and with them the gate took 10.5 us a call instead of 5.4 as one
-- function; without them, 5.8 (best of 15 runs of 20 000 calls). Their
-- bodies name every table and function with its schema. ticket_live, plain
-- SQL with no SET clause, is inlined by the planner into the gate's test
-- (and into app.queue_join's, of the user's earlier ticket).

-- The ticket of a token, whatever its status: the first two checks of the
-- token gate, given (CR300) and known (CR301).
create or replace function app.ticket_find(token uuid, active_first boolean default false)
returns app.queue_tickets
language plpgsql
stable
security invoker
set enable_seqscan = off
set jit = off
as $$
declare
  v_ticket app.queue_tickets;
begin
  if ticket_find.token is null then
    raise exception using errcode = 'CR300', message = 'token missing',
      detail = 'send the queue token as Authorization: Bearer <token>';
  end if;
  -- For a route that needs an ACTIVE token (active_first): the ticket
  -- through queue_tickets_active_token_idx, which no payment writes into
  -- (see sql/indexes/queue_tickets_active_token_idx.sql); a ticket that is
  -- not ACTIVE, and every ticket of a poll or a leave, through the primary
  -- key (a WAITING poll would only miss on the ACTIVE index first).
  if ticket_find.active_first then
    select * into v_ticket from app.queue_tickets t where t.token = ticket_find.token and t.status = 'ACTIVE';
    if found then
      return v_ticket;
    end if;
  end if;
  select * into v_ticket from app.queue_tickets t where t.token = ticket_find.token;
  if not found then
    raise exception using errcode = 'CR301', message = 'token invalid',
      detail = 'no such queue token';
  end if;
  return v_ticket;
end
$$;

comment on function app.ticket_find(uuid, boolean) is
'The ticket of token, whatever its status. With active_first (the routes that need an ACTIVE token) an ACTIVE
one is found on queue_tickets_active_token_idx, so that SERIALIZABLE payments read no page another payment
writes; otherwise, and for a ticket that is not ACTIVE, on the primary key. Raises CR300 when token is null,
CR301 when there is no such ticket.';

-- Whether a ticket is live at as_of: ACTIVE and not past expires_at, or
-- WAITING and polled within waiting_idle_seconds. A ticket past its time is
-- dead at once, before any job sweeps it; LEFT, USED and EXPIRED ones are dead.
create or replace function app.ticket_live(ticket app.queue_tickets, as_of timestamptz)
returns boolean
language sql
stable
security invoker
as $$
  select case (ticket_live.ticket).status
           when 'ACTIVE' then (ticket_live.ticket).expires_at > ticket_live.as_of
           when 'WAITING' then (ticket_live.ticket).last_seen_at
                                 > ticket_live.as_of - make_interval(secs => app.setting('waiting_idle_seconds', 300))
           else false
         end
$$;

comment on function app.ticket_live(app.queue_tickets, timestamptz) is
'True when ticket is live at as_of: ACTIVE before its expires_at, or WAITING and last seen less than
waiting_idle_seconds (app.settings) before as_of; false for every other status.';

-- The token gate, which every route with a token goes through. Checks the
-- ticket in this order: given (CR300), known (CR301), live (CR302), this
-- concert (CR304), admitted (CR303). Callers check their other parameters
-- first, so a malformed request is a 400 even without a token.
create or replace function app.ticket_gate(
  token uuid,
  concert_id bigint default null,
  need_active boolean default true,
  as_of timestamptz default null)
returns app.queue_tickets
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_ticket app.queue_tickets;
begin
  v_ticket := app.ticket_find(ticket_gate.token, ticket_gate.need_active);
  if not app.ticket_live(v_ticket, coalesce(ticket_gate.as_of, now())) then
    raise exception using errcode = 'CR302', message = 'token expired',
      detail = 'the queue token is no longer live; join the queue again',
      hint = case v_ticket.status when 'USED' then 'used up by a payment'
                                  when 'LEFT' then 'given up'
                                  else 'timed out' end;
  end if;
  if ticket_gate.concert_id is not null and v_ticket.concert_id <> ticket_gate.concert_id then
    raise exception using errcode = 'CR304', message = 'token forbidden',
      detail = 'the token is for concert ' || v_ticket.concert_id || ', not concert ' || ticket_gate.concert_id;
  end if;
  if ticket_gate.need_active and v_ticket.status <> 'ACTIVE' then
    raise exception using errcode = 'CR303', message = 'queue waiting',
      detail = 'the token has not been admitted yet';
  end if;
  return v_ticket;
end
$$;

comment on function app.ticket_gate(uuid, bigint, boolean, timestamptz) is
'The token gate: the live ticket of token, checked against concert_id and, when need_active, admitted.
Raises CR300 (no token), CR301 (unknown), CR302 (expired, left, used), CR304 (another concert), CR303 (still waiting).';

-- A userId sent in a body must be the token's user.
create or replace function app.ticket_user_check(ticket app.queue_tickets, user_id bigint)
returns void
language plpgsql
immutable
security invoker
set search_path = ''
as $$
begin
  if ticket_user_check.user_id is not null and ticket_user_check.user_id <> (ticket_user_check.ticket).user_id then
    raise exception using errcode = 'CR304', message = 'token forbidden',
      detail = 'the token belongs to another user';
  end if;
end
$$;

comment on function app.ticket_user_check(app.queue_tickets, bigint) is
'Raises CR304 when user_id is given and is not the ticket''s user.';

-- Idempotency keys: the prologue of every write that takes one, called only
-- when a key was sent (a request without one pays nothing). A replay is
-- answered before any other check, the token's included, so the key is
-- claimed for the token's user whatever its ticket's status (a payment uses
-- its token up, and its replay must still answer). claim takes (user, key)
-- for this transaction, or returns the first answer stored under it. A
-- concurrent request with the same key waits on the unique index until the
-- first commits, then replays it. Only successes are stored: a failed
-- request rolls back its claim, so a retry does the work afresh. The same key
-- with another request is reported (reused), not raised: CR204 is a 409, so
-- the caller raises it after its token and not-found checks (a dead token's
-- 410 comes first), and before any work.
create or replace function app.idempotency_claim(
  token uuid, key text, request text, user_id bigint,
  out status integer, out response jsonb, out reused boolean)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_user_id bigint;
  v_hash text;
  v_stored_hash text;
begin
  reused := false;
  if idempotency_claim.key is null then
    return;
  end if;
  -- (keys are taken by the routes of an admitted fan: holds, charges, payments)
  v_user_id := (app.ticket_find(idempotency_claim.token, true)).user_id;
  if length(idempotency_claim.key) not between 1 and 255 or idempotency_claim.key !~ '^[\x20-\x7e]+$' then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'Idempotency-Key must be 1 to 255 printable characters';
  end if;
  -- userId filled in from the token: a body that names the token's own user
  -- is the same request as one that omits it.
  v_hash := md5(idempotency_claim.request || ':' || coalesce(idempotency_claim.user_id, v_user_id));
  insert into app.idempotency_keys as k (user_id, key, request_hash)
  values (v_user_id, idempotency_claim.key, v_hash)
  on conflict on constraint idempotency_keys_pkey do nothing;
  if found then
    return;
  end if;
  select k.request_hash, k.status, k.response into v_stored_hash, status, response
  from app.idempotency_keys k
  where k.user_id = v_user_id and k.key = idempotency_claim.key;
  if v_stored_hash <> v_hash then
    status := null;
    response := null;
    reused := true;
  end if;
end
$$;

comment on function app.idempotency_claim(uuid, text, text, bigint) is
'Claims an Idempotency-Key for the user of token and this transaction (null status and response), or returns the
stored first answer; nothing at all when key is null. request names the function and its arguments
(''seat_hold:3:7:12''); user_id is the body''s userId, filled in from the token when null. reused is true when
the key was used with another request (the caller raises CR204 after its token and not-found checks).
Raises CR300, CR301 (app.ticket_find; the ticket''s status does not matter), CR001 for a malformed key.';

create or replace function app.idempotency_reused_check(reused boolean)
returns void
language plpgsql
immutable
security invoker
set search_path = ''
as $$
begin
  if idempotency_reused_check.reused then
    raise exception using errcode = 'CR204', message = 'idempotency key reused',
      detail = 'the Idempotency-Key was used before with a different request';
  end if;
end
$$;

comment on function app.idempotency_reused_check(boolean) is
'Raises CR204 when reused (from app.idempotency_claim) is true.';

create or replace function app.idempotency_finish(user_id bigint, key text, status integer, response jsonb)
returns void
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  -- The row is there (app.idempotency_claim inserted it earlier in this
  -- transaction), so this always takes the DO UPDATE arm; request_hash is
  -- never written from here. An upsert rather than an UPDATE: ON CONFLICT
  -- finds the row with a dirty snapshot, which takes no SSI predicate lock,
  -- where an UPDATE's index scan would lock the leaf page of
  -- idempotency_keys_pkey that the neighbouring users' claims insert into,
  -- and concurrent SERIALIZABLE payments would fail with 40001.
  insert into app.idempotency_keys as k (user_id, key, request_hash, status, response)
  select idempotency_finish.user_id, idempotency_finish.key, '', idempotency_finish.status, idempotency_finish.response
  where idempotency_finish.key is not null
  on conflict on constraint idempotency_keys_pkey
  do update set status = excluded.status, response = excluded.response;
end
$$;

comment on function app.idempotency_finish(bigint, text, integer, jsonb) is
'Stores the answer of the request that claimed (user_id, key); does nothing when key is null.';
