-- EXPLAIN of api.webhook_claim's claim over a long outbox: 200 000 events delivered, 2 000 PENDING (half of them
-- waiting behind an earlier event of their reservation, a quarter not yet due). The due events come from
-- outbox_next_attempt_at_idx and the order check from outbox_reservation_id_event_id_idx, never a Seq Scan of
-- the outbox, in the generic plan PL/pgSQL settles on; and a claim reads few rows however long the outbox is.
begin;
select plan(5);

insert into app.outbox (kind, reservation_id, payload, delivery_status, delivered_at)
select 'test.old', g, '{}', 'DELIVERED', now() from generate_series(1, 200000) g;
insert into app.outbox (kind, reservation_id, payload, next_attempt_at)
select 'test.new', 1000000 + g / 2, '{}', now() + case when g % 4 = 0 then interval '1 hour' else interval '0' end
from generate_series(1, 2000) g;
analyze app.outbox;

select tests.generic_plan($$
  select o.event_id
  from app.outbox o
  where o.delivery_status = 'PENDING' and o.next_attempt_at <= now()
    and not exists (
      select from app.outbox e
      where e.delivery_status = 'PENDING' and e.reservation_id = o.reservation_id and e.event_id < o.event_id)
  order by o.next_attempt_at, o.event_id
  limit $1
  for update of o skip locked$$, 'integer', '8') as claim_plan \gset

select tests.uses_index(:'claim_plan', 'outbox_next_attempt_at_idx', 'the due events through outbox_next_attempt_at_idx');
select tests.uses_index(:'claim_plan', 'outbox_reservation_id_event_id_idx',
  'the order check through outbox_reservation_id_event_id_idx');
select tests.no_seq_scan(:'claim_plan', 'outbox', 'no Seq Scan of the outbox');

select * from tests.table_reads('outbox') \gset before_
set local role boxoffice_api;
select is((select count(*) from api.webhook_claim(8, 30)), 8::bigint, 'a claim of 8 gets 8');
reset role;
select * from tests.table_reads('outbox') \gset after_
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<', 200::bigint,
  'and reads under 200 rows of the 202 000 (the due ones it steps over included)');

select * from finish();
rollback;
