-- What the server's event streams read to follow admission without polling
-- (Sources/BoxOffice/HTTP/QueueNotifier.swift). On each NOTIFY
-- boxoffice_queue of a concert an instance reads that concert's watermark
-- once (api.queue_events_watermark), and asks api.queue_status only for its
-- streams whose place is at or below it: the ones admitted (or gone) since.
-- A stream learns its place once, when it opens (api.queue_events_place).
--
-- Both read only, and only this: app.queues (concert_id, admitted_upto) and
-- app.queue_tickets (token, queue_no, status). What they rely on is the
-- waiting room's invariant (20_queue.sql): admission goes in queue_no order,
-- and every ticket at or below admitted_upto has left the line, every
-- WAITING ticket is above it. sql/tests/queue_events checks exactly that.

create or replace function api.queue_events_watermark(concert_id bigint)
returns bigint
language sql
stable
security definer
set search_path = ''
as $$
  select q.admitted_upto from app.queues q where q.concert_id = queue_events_watermark.concert_id
$$;

comment on function api.queue_events_watermark(bigint) is
'The admission watermark of a concert''s line, for the event streams'' fan-out: every ticket whose place
(api.queue_events_place) is at or below it has left the line (admitted, or gone), every WAITING one is above it.
Read only.
Parameters: concert_id.
Result: the watermark, or null when the concert has no line (or does not exist).
Errors: none.';

revoke execute on function api.queue_events_watermark(bigint) from public;
grant execute on function api.queue_events_watermark(bigint) to boxoffice_api;

create or replace function api.queue_events_place(token uuid)
returns bigint
language sql
stable
security definer
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
  select t.queue_no from app.queue_tickets t
  where t.token = queue_events_place.token and t.status = 'WAITING'
$$;

comment on function api.queue_events_place(uuid) is
'The place in its concert''s line of a WAITING ticket, to compare with api.queue_events_watermark: once the
watermark reaches it, the ticket has been admitted or has left. Read only; it records no poll.
Parameters: token.
Result: the place, or null when the token is unknown or not WAITING.
Errors: none.';

revoke execute on function api.queue_events_place(uuid) from public;
grant execute on function api.queue_events_place(uuid) to boxoffice_api;
