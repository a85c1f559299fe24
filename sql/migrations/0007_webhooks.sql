-- Webhook delivery state of the outbox, kept apart from the NOTIFY that
-- api.outbox_dispatch sends (dispatched_at): an event is done for the webhook
-- when the receiver answered 2xx (DELIVERED) or the last attempt failed
-- (DEAD), never when it was merely sent (docs/webhooks.md).
--
-- webhook_id is the event's stable Standard Webhooks id (the webhook-id
-- header): every attempt of one event carries it, so a receiver drops
-- duplicates by it. A uuid rather than the event_id, so that a database
-- rebuilt from scratch never reuses an id a receiver has already seen.
--
-- reservation_id orders delivery: an event of a reservation is not sent while
-- an earlier event of the same reservation is still PENDING.
--
-- next_attempt_at is both the back-off and the lease: claiming an event moves
-- it past the attempt's timeout, so a deliverer killed mid-attempt leaves the
-- event to be claimed again once the lease runs out.
alter table app.outbox
  add column webhook_id      uuid not null default gen_random_uuid(),
  add column reservation_id  bigint,
  add column delivery_status text not null default 'PENDING',
  add column attempts        integer not null default 0,
  add column next_attempt_at timestamptz not null default now(),
  add column delivered_at    timestamptz,
  add constraint outbox_delivery_status_check check (delivery_status in ('PENDING', 'DELIVERED', 'DEAD')),
  add constraint outbox_attempts_check check (attempts >= 0),
  add constraint outbox_webhook_id_key unique (webhook_id);

-- The ordering key of the events written before this migration (payments).
update app.outbox o set reservation_id = (o.payload->>'reservationId')::bigint
where o.payload ? 'reservationId';

-- One row per delivery attempt, with the receiver's answer (or why there was
-- none): status_code null when no answer came (error says why: timeout,
-- refused, ...). response_head holds at most the first 200 characters.
create table app.webhook_attempts (
  attempt_id    bigint generated always as identity,
  event_id      bigint not null,
  attempt_no    integer not null,
  instance      text not null,
  started_at    timestamptz not null,
  duration_ms   integer not null,
  status_code   integer,
  response_head text,
  error         text,
  constraint webhook_attempts_pkey primary key (attempt_id),
  constraint webhook_attempts_event_id_fkey foreign key (event_id) references app.outbox on delete cascade,
  constraint webhook_attempts_duration_ms_check check (duration_ms >= 0),
  constraint webhook_attempts_status_code_check check (status_code between 100 and 599)
);
