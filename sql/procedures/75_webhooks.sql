-- Webhook delivery from the outbox (docs/webhooks.md). The deliverer inside
-- the scheduler's leader claims due events (api.webhook_claim), POSTs each
-- one, and records every attempt (api.webhook_attempt_finish). A DBA lists
-- them and sends one again (api.webhook_list, api.webhook_retry: owner only).
--
-- At least once: claiming sets next_attempt_at past the attempt's timeout (a
-- lease), so an event whose deliverer died mid-attempt is claimed again when
-- the lease runs out, with the same webhook_id. Order per reservation: an
-- event is not claimed while an earlier event of its reservation is PENDING,
-- so a later event never reaches the receiver before an earlier one was
-- acknowledged or given up (DEAD).

-- The body a receiver gets: the Standard Webhooks envelope around the payload.
create or replace function app.webhook_body(o app.outbox)
returns text
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object('type', (webhook_body.o).kind, 'timestamp', app.iso((webhook_body.o).created_at),
                            'data', (webhook_body.o).payload)::text
$$;

comment on function app.webhook_body(app.outbox) is
'The JSON a receiver gets for event o: {"type", "timestamp", "data"}, data being the event''s payload.';

revoke execute on function app.webhook_body(app.outbox) from public;

create or replace function api.webhook_claim(max_events integer, lease_seconds integer)
returns table (event_id bigint, webhook_id uuid, kind text, attempt integer, body text)
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if webhook_claim.max_events is null or webhook_claim.max_events < 1
     or webhook_claim.lease_seconds is null or webhook_claim.lease_seconds < 1 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'max_events and lease_seconds must be 1 or more';
  end if;
  -- outbox_next_attempt_at_idx for the due events, outbox_reservation_id_event_id_idx
  -- for the order check. SKIP LOCKED: a row another claim holds is left to it;
  -- the check still sees that row PENDING, so its later events wait too.
  return query
  with due as (
    select o.event_id
    from app.outbox o
    where o.delivery_status = 'PENDING' and o.next_attempt_at <= now()
      and not exists (
        select from app.outbox e
        where e.delivery_status = 'PENDING' and e.reservation_id = o.reservation_id and e.event_id < o.event_id)
    order by o.next_attempt_at, o.event_id
    limit webhook_claim.max_events
    for update of o skip locked
  )
  update app.outbox o
  set attempts = o.attempts + 1,
      next_attempt_at = now() + make_interval(secs => webhook_claim.lease_seconds)
  from due
  where o.event_id = due.event_id
  returning o.event_id, o.webhook_id, o.kind, o.attempts, app.webhook_body(o);
end
$$;

comment on function api.webhook_claim(integer, integer) is
'Claims the webhook events due for an attempt, oldest due first (the deliverer of the scheduler''s leader).
An event is due when PENDING, its next_attempt_at has come, and no earlier event of its reservation is PENDING.
Each claimed event''s attempts goes up by one and its next_attempt_at moves lease_seconds on, so a deliverer
that dies mid-attempt leaves it to be claimed again then (with the same webhook_id).
Parameters: max_events, 1 or more; lease_seconds, longer than one attempt may take, 1 or more.
Result: rows (event_id, webhook_id, kind, attempt (1 for the first), body (the JSON to POST)).
Errors: CR001 a parameter missing or below 1.';

revoke execute on function api.webhook_claim(integer, integer) from public;
grant execute on function api.webhook_claim(integer, integer) to boxoffice_api;

create or replace function api.webhook_attempt_finish(
  event_id bigint,
  attempt integer,
  instance text,
  duration_ms integer,
  status_code integer,
  response_head text,
  error text,
  max_attempts integer,
  retry_seconds double precision,
  max_retry_seconds double precision default 3600)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_event app.outbox;
  v_delay double precision;
begin
  if webhook_attempt_finish.event_id is null or webhook_attempt_finish.attempt is null
     or webhook_attempt_finish.instance is null
     or webhook_attempt_finish.duration_ms is null or webhook_attempt_finish.duration_ms < 0
     or coalesce(webhook_attempt_finish.max_attempts, 0) < 1
     or coalesce(webhook_attempt_finish.retry_seconds, -1) < 0
     or coalesce(webhook_attempt_finish.max_retry_seconds, -1) < 0
     or webhook_attempt_finish.status_code not between 100 and 599 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'event_id, attempt, instance, a duration_ms of 0 or more, max_attempts of 1 or more, '
        || 'retry delays of 0 or more and a status_code of 100 to 599 (or null) are required';
  end if;

  select * into v_event from app.outbox o where o.event_id = webhook_attempt_finish.event_id for update;
  if not found then
    raise exception using errcode = 'CR108', message = 'event not found',
      detail = 'no outbox event ' || webhook_attempt_finish.event_id || ' exists';
  end if;

  insert into app.webhook_attempts
    (event_id, attempt_no, instance, started_at, duration_ms, status_code, response_head, error)
  values (v_event.event_id, webhook_attempt_finish.attempt, webhook_attempt_finish.instance,
          clock_timestamp() - make_interval(secs => webhook_attempt_finish.duration_ms / 1000.0),
          webhook_attempt_finish.duration_ms, webhook_attempt_finish.status_code,
          left(webhook_attempt_finish.response_head, 200), left(webhook_attempt_finish.error, 200));

  if v_event.delivery_status <> 'PENDING' then
    -- Delivered or given up meanwhile (an earlier lease's attempt, or a retry
    -- by a DBA): the attempt is history only.
    return v_event.delivery_status;
  end if;
  if webhook_attempt_finish.status_code between 200 and 299 then
    -- Acknowledged: done, whichever attempt it was.
    update app.outbox o set delivery_status = 'DELIVERED', delivered_at = now(), next_attempt_at = now()
    where o.event_id = v_event.event_id;
    return 'DELIVERED';
  end if;
  if webhook_attempt_finish.attempt <> v_event.attempts then
    -- A stale attempt (its lease ran out and the event was claimed again):
    -- the newer claim decides what happens next.
    return 'PENDING';
  end if;
  if v_event.attempts >= webhook_attempt_finish.max_attempts then
    update app.outbox o set delivery_status = 'DEAD', next_attempt_at = now()
    where o.event_id = v_event.event_id;
    return 'DEAD';
  end if;
  -- Growing back-off: retry_seconds, then twice as long each time, at most max_retry_seconds.
  v_delay := least(webhook_attempt_finish.retry_seconds * power(2, v_event.attempts - 1),
                   webhook_attempt_finish.max_retry_seconds);
  update app.outbox o set next_attempt_at = now() + make_interval(secs => v_delay)
  where o.event_id = v_event.event_id;
  return 'PENDING';
end
$$;

comment on function api.webhook_attempt_finish(bigint, integer, text, integer, integer, text, text, integer, double precision, double precision) is
'Records one delivery attempt of an event and decides what comes next (the deliverer of the scheduler''s leader).
A 2xx makes the event DELIVERED (even from an attempt whose lease ran out). Anything else, or no answer, on the
event''s latest attempt: DEAD when attempts reached max_attempts, else PENDING again after
retry_seconds * 2^(attempts - 1), at most max_retry_seconds. An event already DELIVERED or DEAD stays so.
Parameters: event_id; attempt, as claimed; instance; duration_ms (the attempt is recorded as started that long before the
database''s clock now: no caller''s clock is taken); status_code, null when no answer came;
response_head, the start of the answer (200 characters kept); error, why there was no answer; max_attempts;
retry_seconds; max_retry_seconds (default 3600).
Result: the event''s delivery status now: PENDING, DELIVERED or DEAD.
Errors: CR001 a parameter missing or out of range; CR108 no such event.';

revoke execute on function api.webhook_attempt_finish(bigint, integer, text, integer, integer, text, text, integer, double precision, double precision) from public;
grant execute on function api.webhook_attempt_finish(bigint, integer, text, integer, integer, text, text, integer, double precision, double precision) to boxoffice_api;

-- One event as api.webhook_list and api.webhook_retry show it.
create or replace function app.webhook_event_json(o app.outbox)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object(
    'eventId', (webhook_event_json.o).event_id,
    'webhookId', (webhook_event_json.o).webhook_id,
    'type', (webhook_event_json.o).kind,
    'reservationId', (webhook_event_json.o).reservation_id,
    'status', (webhook_event_json.o).delivery_status,
    'attempts', (webhook_event_json.o).attempts,
    'createdAt', app.iso((webhook_event_json.o).created_at),
    'nextAttemptAt', case when (webhook_event_json.o).delivery_status = 'PENDING'
                          then app.iso((webhook_event_json.o).next_attempt_at) end,
    'deliveredAt', app.iso((webhook_event_json.o).delivered_at),
    'lastAttempt', (
      select jsonb_build_object('at', app.iso(a.started_at), 'statusCode', a.status_code,
                                'durationMs', a.duration_ms, 'error', a.error, 'responseHead', a.response_head,
                                'instance', a.instance)
      from app.webhook_attempts a
      where a.event_id = (webhook_event_json.o).event_id
      order by a.attempt_id desc
      limit 1))
$$;

comment on function app.webhook_event_json(app.outbox) is
'An event''s webhook state: {"eventId", "webhookId", "type", "reservationId", "status", "attempts", "createdAt",
"nextAttemptAt" (PENDING only), "deliveredAt", "lastAttempt": {"at", "statusCode", "durationMs", "error",
"responseHead", "instance"} or null}.';

revoke execute on function app.webhook_event_json(app.outbox) from public;

create or replace function api.webhook_list(status text default null, max_events integer default 50)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if webhook_list.status is not null and webhook_list.status not in ('PENDING', 'DELIVERED', 'DEAD') then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'status must be PENDING, DELIVERED or DEAD';
  end if;
  if webhook_list.max_events is null or webhook_list.max_events not between 1 and 10000 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'max_events must be 1 to 10000';
  end if;
  return jsonb_build_object('events', coalesce((
    select jsonb_agg(app.webhook_event_json(o) order by o.event_id desc)
    from (select * from app.outbox o
          where webhook_list.status is null or o.delivery_status = webhook_list.status
          order by o.event_id desc
          limit webhook_list.max_events) o), '[]'::jsonb));
end
$$;

comment on function api.webhook_list(text, integer) is
'The newest webhook events and their delivery state, newest first (boxoffice webhooks list; owner only).
Parameters: status, only events in this state (PENDING, DELIVERED or DEAD; default all); max_events, 1 to 10000 (default 50).
Result: {"events": [app.webhook_event_json, ...]}.
Errors: CR001 unknown status or max_events out of range.';

revoke execute on function api.webhook_list(text, integer) from public;

create or replace function api.webhook_retry(event_id bigint)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_event app.outbox;
begin
  if webhook_retry.event_id is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'event_id is required';
  end if;
  update app.outbox o
  set delivery_status = 'PENDING', attempts = 0, next_attempt_at = now(), delivered_at = null
  where o.event_id = webhook_retry.event_id
  returning * into v_event;
  if not found then
    raise exception using errcode = 'CR108', message = 'event not found',
      detail = 'no outbox event ' || webhook_retry.event_id || ' exists';
  end if;
  return app.webhook_event_json(v_event);
end
$$;

comment on function api.webhook_retry(bigint) is
'Sends an event again from the first attempt (boxoffice webhooks retry ID; owner only): a DEAD event after its
receiver was fixed, or a DELIVERED one a receiver lost. It becomes PENDING, due now, with a fresh count of
attempts and the same webhookId; its attempts so far stay recorded. Later events of its reservation wait for it again.
Parameters: event_id.
Result: the event as api.webhook_list shows it.
Errors: CR001 event_id missing; CR108 no such event.';

revoke execute on function api.webhook_retry(bigint) from public;
