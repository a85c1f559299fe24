-- The outbox (docs/design.md, Seats, money and payments): every event a receiver outside the database
-- must hear of is an app.outbox row written in the transaction that made it
-- happen, so an event exists exactly when its change committed.
--
-- Two consumers, with state of their own:
--   * Webhooks (75_webhooks.sql): delivery_status, attempts and
--     next_attempt_at; an event is done when the receiver answered 2xx, or
--     dead after the last attempt. This is the at-least-once delivery.
--   * Listeners in the database's own sessions: api.outbox_dispatch NOTIFYs
--     boxoffice_events with each event's payload and sets dispatched_at. A
--     NOTIFY is lost while nobody listens, so dispatched_at says only that it
--     was sent, and delivery never depends on it.
--
-- Events: payment.completed (api.payment_create calls app.outbox_add),
-- reservation.held, reservation.cancelled and reservation.expired (the
-- trigger reservations_outbox_trg below, so that every path that holds, cancels
-- or expires a reservation, a takeover of a lapsed hold included, writes one).

create or replace function app.outbox_add(kind text, user_id bigint, reservation_id bigint, payload jsonb)
returns bigint
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_event_id bigint;
begin
  insert into app.outbox (kind, user_id, reservation_id, payload)
  values (outbox_add.kind, outbox_add.user_id, outbox_add.reservation_id, outbox_add.payload)
  returning event_id into v_event_id;
  return v_event_id;
end
$$;

comment on function app.outbox_add(text, bigint, bigint, jsonb) is
'Writes one outbox event in the caller''s transaction; returns its event_id.
Parameters: kind (payment.completed, reservation.held, ...); user_id; reservation_id, the key that orders
webhook delivery (null: no order with other events); payload, the event''s data (docs/webhooks.md).';

revoke execute on function app.outbox_add(text, bigint, bigint, jsonb) from public;

-- reservation.held when a reservation is written HELD; reservation.cancelled
-- and reservation.expired when a HELD one becomes CANCELLED or EXPIRED. PAID
-- is api.payment_create's own payment.completed. The payload is the
-- Reservation of the API as it now stands.
create or replace function app.reservations_outbox()
returns trigger
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' and new.status = 'HELD' then
    perform app.outbox_add('reservation.held', new.user_id, new.reservation_id,
      app.reservation_json(new, new.created_at));
  elsif tg_op = 'UPDATE' and old.status = 'HELD' and new.status in ('CANCELLED', 'EXPIRED') then
    perform app.outbox_add('reservation.' || lower(new.status), new.user_id, new.reservation_id,
      app.reservation_json(new, coalesce(new.ended_at, now())));
  end if;
  return null;
end
$$;

comment on function app.reservations_outbox() is
'Trigger of app.reservations: writes reservation.held, reservation.cancelled or reservation.expired to the outbox.';

revoke execute on function app.reservations_outbox() from public;

create or replace trigger reservations_outbox_trg
after insert or update of status on app.reservations
for each row execute function app.reservations_outbox();

create or replace function api.outbox_dispatch(max_events integer default 500)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_event record;
  v_count integer := 0;
begin
  if outbox_dispatch.max_events is null or outbox_dispatch.max_events < 1 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'max_events must be 1 or more';
  end if;

  -- One dispatcher at a time, so that events go out in event_id order (a
  -- second dispatcher running at once, say pg_cron beside the scheduler,
  -- returns 0 instead of sending a later batch ahead of an earlier one). The
  -- rows are still claimed with SKIP LOCKED, so the dispatcher never waits on a
  -- row another transaction holds.
  if not pg_try_advisory_xact_lock(hashtext('boxoffice.outbox_dispatch')) then
    return 0;
  end if;

  -- outbox_event_id_idx: an index scan over the undispatched events only
  for v_event in
    select o.event_id, o.payload
    from app.outbox o
    where o.dispatched_at is null
    order by o.event_id
    limit outbox_dispatch.max_events
    for update skip locked
  loop
    perform pg_notify('boxoffice_events', v_event.payload::text);
    update app.outbox o set dispatched_at = now() where o.event_id = v_event.event_id;
    v_count := v_count + 1;
  end loop;

  return v_count;
end
$$;

comment on function api.outbox_dispatch(integer) is
'NOTIFYs listeners of the events not yet notified, oldest first (a scheduler job; pg_cron can run it).
Webhook delivery does not depend on it (api.webhook_claim).
For each claimed event (FOR UPDATE SKIP LOCKED, in event_id order): NOTIFY boxoffice_events with the
event''s payload and set dispatched_at. Runs one at a time (a concurrent call returns 0).
Parameters: max_events, the most events to hand on in this call, 1 or more (default 500).
Result: the number of events dispatched.
Errors: CR001 max_events missing or below 1.';

revoke execute on function api.outbox_dispatch(integer) from public;
grant execute on function api.outbox_dispatch(integer) to boxoffice_api;
