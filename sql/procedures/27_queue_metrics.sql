-- What /metrics shows an operator during an on-sale, per concert: one read
-- per scrape (Sources/BoxOffice/HTTP/OnsaleMetrics.swift renders it), never
-- one per request. Each number costs what a poll costs, or a few index
-- ranges: the people waiting come from the same counters as a position (the
-- tickets between the watermark and the end of the line, less the
-- departures), the ACTIVE ones from queue_tickets_concert_id_expires_at_idx,
-- holds and sold seats from the concert's dates, 50 seats each.

create or replace function app.onsale_metrics(at timestamptz)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object(
    'concerts', coalesce((
      select jsonb_agg(jsonb_build_object(
               'concertId', q.concert_id,
               'waiting', app.queue_arrived(q.concert_id, q.admitted_upto, l.end_no,
                                                 coalesce((select k.counted_below from app.queue_counted k
                                                           where k.concert_id = q.concert_id), 0))
                          - app.queue_departed(q.concert_id, q.admitted_upto, l.end_no),
               'active', (select count(*)
                          from app.queue_tickets t
                          where t.concert_id = q.concert_id and t.status = 'ACTIVE' and t.expires_at > onsale_metrics.at),
               'admitted', q.admitted_total,
               'admitRate', q.admit_rate,
               'holds', s.holds,
               'sold', s.sold,
               'paused', (c.sale_paused)::integer,
               'prequeue', (c.sale_opens_at is not null and c.sale_opened_at is null)::integer)
             order by q.concert_id)
      from app.queues q
      join app.concerts c on c.concert_id = q.concert_id
      -- past every number handed out: the whole line
      cross join (select sq.last_value + 1 as end_no from app.queue_tickets_queue_no_seq sq) l
      -- Holds and sales from the indexes that hold only those seats
      -- (seats_hold_expires_at_idx, seats_concert_id_sold_idx), never from
      -- every seat of every concert: a scrape in an on-sale reads the seats
      -- held or sold, not the million on sale (1.1 s a scrape over 200
      -- concerts of 5 000 seats when it read them all).
      cross join lateral (
        select (select count(*)
                from app.seats st
                where st.status = 'HELD' and st.hold_expires_at > onsale_metrics.at
                  and st.concert_id = q.concert_id) as holds,
               (select count(*)
                from app.seats st
                where st.status = 'SOLD' and st.concert_id = q.concert_id) as sold) s
      -- concerts still to come
      where exists (select from app.concert_dates d where d.concert_id = q.concert_id and d.starts_at > onsale_metrics.at)),
      '[]'::jsonb),
    'webhookBacklog', (select count(*) from app.outbox o where o.delivery_status = 'PENDING'))
$$;

comment on function app.onsale_metrics(timestamptz) is
'api.onsale_metrics with its clock at.';

create or replace function api.onsale_metrics()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select app.onsale_metrics(now())
$$;

comment on function api.onsale_metrics() is
'What /metrics shows per concert, read once per scrape: every concert with a line and a date still to come.
Parameters: none.
Result: {"concerts": [{"concertId", "waiting" (WAITING tickets), "active" (unexpired ACTIVE tokens), "admitted"
(admissions ever), "admitRate" (per second, a one-minute average), "holds" (unlapsed HELD seats), "sold" (SOLD
seats), "paused" (1 or 0), "prequeue" (1 while a scheduled opening is not done yet, else 0)}], "webhookBacklog" (outbox events still PENDING
delivery)}.
Errors: none.';

revoke execute on function api.onsale_metrics() from public;
grant execute on function api.onsale_metrics() to boxoffice_api;
