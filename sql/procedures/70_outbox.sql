-- The outbox dispatcher (DESIGN.md, Events). Payment writes an app.outbox row
-- in its own transaction and NOTIFYs boxoffice_outbox with the event id, so a
-- listener may wake the dispatcher early; the scheduler also runs it every few
-- seconds (app.jobs 'outbox_dispatch'), because a NOTIFY is lost while nobody listens.
--
-- Delivery is at least once: an event is marked dispatched in the same
-- transaction that sends its NOTIFY, and PostgreSQL delivers the NOTIFYs only
-- when that transaction commits; should it roll back, the events stay
-- undispatched and go out again on the next run. Consumers must therefore
-- tolerate a repeat (a payment event carries its paymentId). Two limits of
-- NOTIFY apply to payloads: under 8000 bytes each (a payment's is about 250),
-- and identical payloads sent in one transaction are folded into one (every
-- payment's payload is distinct).
--
-- Consumers today: the payment history and the ledger view read app.payments
-- and app.ledger directly, so nothing else has to happen for them. A webhook
-- consumer (POSTing each event to a configured URL) is future work: it would
-- LISTEN boxoffice_events, or call a variant of this function that returns the
-- claimed rows instead of NOTIFYing them.
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
'Hands undispatched outbox events on, oldest first, at least once (a scheduler job; pg_cron can run it).
For each claimed event (FOR UPDATE SKIP LOCKED, in event_id order): NOTIFY boxoffice_events with the
event''s payload and set dispatched_at. Runs one at a time (a concurrent call returns 0).
Parameters: max_events, the most events to hand on in this call, 1 or more (default 500).
Result: the number of events dispatched.
Errors: CR001 max_events missing or below 1.';

revoke execute on function api.outbox_dispatch(integer) from public;
grant execute on function api.outbox_dispatch(integer) to boxoffice_api;
