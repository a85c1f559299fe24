-- Serves api.webhook_claim's order check: is an earlier event of the same
-- reservation still PENDING? Expected plan for the subquery:
--   Index Only Scan using outbox_reservation_id_event_id_idx on outbox
--     Index Cond: (reservation_id = o.reservation_id) AND (event_id < o.event_id)
create index concurrently if not exists outbox_reservation_id_event_id_idx
  on app.outbox (reservation_id, event_id) where delivery_status = 'PENDING';
