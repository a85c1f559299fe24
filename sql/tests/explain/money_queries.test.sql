-- EXPLAIN of the money routes at scale: the payment (api.payment_create), the charge (api.balance_charge), the
-- balance (api.balance_get), the ledger history (api.balance_history) and the payment list (api.payment_list),
-- with and without an Idempotency-Key, and the foreign-key checks of the rows they insert. Every statement must
-- read its rows by key through an index, never a Seq Scan of seats, reservations, users, payments, ledger,
-- queue_tickets, idempotency_keys or outbox, and read few rows whatever the size of the tables.
--
-- The data, set-based, relative to one clock t0, for N seats (default 100 000; N / 5 000 concerts x 100 dates x
-- 50 seats, as `boxoffice seed --scale N` lays them out): N / 5 users, each charged twice; 20 % of the seats SOLD
-- (PAID reservation, payment, PAYMENT ledger row, dispatched outbox event, USED queue ticket and stored
-- Idempotency-Key each), 2 % HELD (each holder with an ACTIVE ticket for the concert), 5 % EXPIRED and 1 %
-- CANCELLED reservations; a WAITING line of N / 10 on the last concert; a stored key for every user's second
-- charge; one heavy user with 10 000 CHARGE rows. At 100 000 seats: 20 000 users, 28 000 reservations, 20 000
-- payments, 70 000 ledger rows, 32 000 queue tickets, 40 000 idempotency keys.
-- At 1 000 000 seats (ten times all of that), run
--   PGOPTIONS='-c boxoffice.explain_scale=1000000' pg_prove -d DB sql/tests/explain/money_queries.test.sql
-- (any multiple of 5 000 from 100 000 to 10 000 000 works; on a shared 2-vCPU machine about 13 s at 100 000 seats
-- and 100 s at 1 000 000, nearly all of it the load).
--
-- Two kinds of check:
--   - EXPLAIN (FORMAT JSON) of the read statements (api.payment_list's, api.balance_history's, copied from
--     sql/procedures with the PL/pgSQL variables as parameters), custom and generic plan, and of the query each
--     foreign-key check runs on insert (PostgreSQL's RI_FKey_check: select 1 from only <referenced table> x
--     where <key> = $1 for key share of x), generic plan;
--   - the real api functions, each called eight times in this session as boxoffice_api (past PL/pgSQL's five
--     custom plans, so that its plan cache has made its choice), with this transaction's statistics
--     (pg_stat_xact_user_tables, pg_stat_get_xact_* of the indexes) taken before and after: no Seq Scan of any
--     of the tables above, the intended indexes scanned, and few rows read per call.
-- Rows read = seq_tup_read + idx_tup_fetch (live rows fetched through an index, by index and bitmap scans, the
-- foreign-key checks and the ON CONFLICT probe included), summed over the eight tables. Index entries returned
-- are not counted: the planner's probes of an index's ends (get_actual_variable_range) step over the entries of
-- rows that earlier rolled-back runs of these tests left for vacuum, thousands per call in a database the tests
-- have run in a few times, which says nothing about the statements. None of these statements can be an
-- index-only scan (they lock, update or return whole rows), so nothing they read escapes idx_tup_fetch.
-- The bound is under 50 per call: a payment reads 17 rows by key (21 with a key: the token, the reservation twice,
-- the seat twice, the user twice, the rows behind each foreign-key check, the key ...); 50 leaves more than twice
-- that, and is 400 times smaller than a Seq Scan of the smallest of these tables at 100 000 seats (20 000 users
-- or payments), so no scan of them can pass it. The heavy user's history is bounded by its limit (50) instead:
-- under 60 per call.
--
-- Checked by hand that it goes red without its indexes, each dropped right after `begin;` (as
-- bench/explain/drop_index_check.sh does for the other files): without payments_user_id_payment_id_idx the payment
-- list's plans and calls fail (tests 4-5, 44-46: Seq Scan of payments); without ledger_user_id_entry_id_idx the
-- history's (6-7, 37-39: Seq Scan of ledger; 42: the heavy user's history reads past its 50 rows); dropping
-- (with cascade) payments_pkey, reservations_pkey, users_pkey, queue_tickets_pkey or seats_pkey fails the
-- foreign-key checks or the calls' Seq Scan and rows-read tests; idempotency_keys_pkey cannot go (the claim's
-- ON CONFLICT names it: the test errors). ledger_payment_id_idx serves no route, and this file passes without it.
begin;
select plan(47);

-- The plan helpers (tests.plan, tests.generic_plan, tests.analyzed_plan, tests.index_names, tests.rows_read) are
-- in sql/testing/fixtures/80_explain.sql.

-- The plan uses index_name and scans none of relations sequentially.
create function pg_temp.uses_index_only(plan jsonb, index_name text, relations text[], description text)
returns setof text language plpgsql as $$
declare
  v_seq text[] := array(select distinct n ->> 'Relation Name'
                        from jsonb_path_query(plan, 'strict $.** ? (@."Node Type" == "Seq Scan")') n
                        where n ->> 'Relation Name' = any (relations));
  v_ok boolean := tests.index_names(plan) ? index_name and cardinality(v_seq) = 0;
begin
  return next ok(v_ok, description);
  if not v_ok then
    return next diag('Seq Scan of: ' || array_to_string(v_seq, ', '));
    return next diag(jsonb_pretty(plan));
  end if;
end
$$;

-- Snapshots of this transaction's reads of the money tables and scans of their indexes, by label.
create temp table snaps (label text, relname name, seq_scans bigint, rows_read bigint);
create temp table index_snaps (label text, indexname name, scans bigint);
create function pg_temp.snap(label text) returns void language sql as $$
  insert into pg_temp.snaps
  select snap.label, t.relname, t.seq_scan, t.seq_tup_read + coalesce(t.idx_tup_fetch, 0)
  from pg_stat_xact_user_tables t
  where t.schemaname = 'app'
    and t.relname in ('seats', 'reservations', 'users', 'payments', 'ledger', 'queue_tickets', 'idempotency_keys', 'outbox');
  insert into pg_temp.index_snaps
  select snap.label, c.relname, pg_stat_get_xact_numscans(c.oid)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'app' and c.relkind = 'i';
$$;
-- Between snapshots label and label || '/': no Seq Scan of the money tables, fewer than max_per_call rows read
-- per call.
create function pg_temp.reads_ok(label text, calls integer, max_per_call integer, what text)
returns setof text language plpgsql as $$
declare
  v_seq text;
  v_rows bigint;
  v_detail text;
begin
  select string_agg(a.relname || ' x ' || (a.seq_scans - b.seq_scans), ', ' order by a.relname)
           filter (where a.seq_scans > b.seq_scans),
         sum(a.rows_read - b.rows_read),
         string_agg(a.relname || ' ' || (a.rows_read - b.rows_read), ', ' order by a.relname)
           filter (where a.rows_read > b.rows_read)
  into v_seq, v_rows, v_detail
  from pg_temp.snaps b join pg_temp.snaps a on a.relname = b.relname and a.label = reads_ok.label || '/'
  where b.label = reads_ok.label;
  return next ok(v_seq is null, what || ': no Seq Scan of the money tables');
  if v_seq is not null then
    return next diag('Seq Scans: ' || v_seq);
  end if;
  return next cmp_ok(v_rows, '<', reads_ok.calls::bigint * reads_ok.max_per_call,
    format('%s: under %s rows read per call (%s in %s calls)', what, reads_ok.max_per_call, v_rows, reads_ok.calls));
  if v_rows >= reads_ok.calls::bigint * reads_ok.max_per_call then
    return next diag('rows read: ' || v_detail);
  end if;
end
$$;
-- Between snapshots label and label || '/': each of indexes scanned at least at_least times.
create function pg_temp.indexes_scanned(label text, indexes text[], at_least integer, what text)
returns setof text language plpgsql as $$
declare
  v_scans text;
  v_short boolean;
begin
  select string_agg(x.name || ' ' || coalesce(a.scans - b.scans, 0), ', ' order by x.ord),
         bool_or(coalesce(a.scans - b.scans, 0) < indexes_scanned.at_least)
  into v_scans, v_short
  from unnest(indexes_scanned.indexes) with ordinality x (name, ord)
  left join pg_temp.index_snaps b on b.indexname = x.name and b.label = indexes_scanned.label
  left join pg_temp.index_snaps a on a.indexname = x.name and a.label = indexes_scanned.label || '/';
  return next ok(not v_short, what);
  if v_short then
    return next diag('index scans: ' || v_scans);
  end if;
end
$$;

-- The clock of the whole test: t0. The scale: boxoffice.explain_scale seats, default 100 000.
select date_trunc('second', now()) as t0 \gset
select coalesce(nullif(current_setting('boxoffice.explain_scale', true), ''), '100000')::integer as scale \gset
select coalesce(max(c.concert_id), 0) as c0 from app.concerts c \gset
select ok(:scale % 5000 = 0 and :scale between 100000 and 10000000,
  'boxoffice.explain_scale is a multiple of 5 000 from 100 000 to 10 000 000 (' || :scale || ')');
select is(app.seed_scale(:scale / 5000, 100, :'t0'), :scale::bigint, :scale || ' seats loaded');
select min(c.concert_id) as first_concert, max(c.concert_id) as last_concert from app.concerts c where c.concert_id > :c0 \gset

-- The load skips the per-row foreign-key triggers (session_replication_role = replica; the schema has no other
-- triggers): every row is built from the rows it references, and the checks would double the load time. They are
-- back on before the first api call, and the foreign-key checks of the api calls are part of what is measured.
set local session_replication_role = replica;
create temp table u as
with ins as (insert into app.users (name) select 'money ' || g from generate_series(1, :scale / 5) g returning user_id)
select row_number() over (order by user_id) as i, user_id from ins;
select count(*) as users from u \gset
-- Who has which seat: 20 % sold, 2 % held (live holds), 5 % expired and 1 % cancelled reservations.
select setseed(0.25) \g /dev/null
create temp table pick as
select s.date_id, s.seat_no, s.concert_id, s.price, s.kind, u.user_id
from (select s.*, 1 + floor(random() * :users)::bigint as ui,
             case when s.r < 0.20 then 'PAID' when s.r < 0.22 then 'HELD' when s.r < 0.27 then 'EXPIRED'
                  when s.r < 0.28 then 'CANCELLED' end as kind
      from (select s.*, random() as r from app.seats s where s.concert_id > :c0) s) s
join u on u.i = s.ui
where s.kind is not null;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at, ended_at)
select p.user_id, p.concert_id, p.date_id, p.seat_no, p.price, p.kind, x.created, x.created + interval '5 minutes',
       case p.kind when 'PAID' then x.created + interval '2 minutes' when 'EXPIRED' then x.created + interval '5 minutes'
                   when 'CANCELLED' then x.created + interval '1 minute' end
from pick p
cross join lateral (select :'t0'::timestamptz + case when p.kind = 'HELD' then interval '-1 minute'
                                                     else -interval '1 hour' - random() * interval '30 days' end as created) x
order by x.created;
update app.seats s
set status = case when r.status = 'PAID' then 'SOLD' else 'HELD' end, user_id = r.user_id,
    reservation_id = r.reservation_id, hold_expires_at = case when r.status = 'HELD' then r.expires_at end
from app.reservations r
where r.live and r.status in ('HELD', 'PAID') and r.concert_id > :c0 and s.date_id = r.date_id and s.seat_no = r.seat_no;
insert into app.payments (reservation_id, user_id, concert_id, amount, paid_at)
select r.reservation_id, r.user_id, r.concert_id, r.price, r.ended_at
from app.reservations r where r.status = 'PAID' and r.concert_id > :c0 order by r.ended_at, r.reservation_id;
-- The ledger: two charges of 2 500 000 per user before any payment, then a PAYMENT row per payment.
insert into app.ledger (user_id, kind, amount, balance_after, created_at)
select u.user_id, 'CHARGE', 2500000, 2500000 * g, :'t0'::timestamptz - interval '40 days' + g * interval '4 days'
from u cross join generate_series(1, 2) g order by g, u.user_id;
insert into app.ledger (user_id, kind, amount, balance_after, payment_id, created_at)
select p.user_id, 'PAYMENT', -p.amount, 5000000 - sum(p.amount) over (partition by p.user_id order by p.payment_id),
       p.payment_id, p.paid_at
from app.payments p join u on u.user_id = p.user_id order by p.payment_id;
update app.users x set balance = 5000000 - coalesce(p.paid, 0)
from u left join (select p.user_id, sum(p.amount) as paid from app.payments p group by p.user_id) p on p.user_id = u.user_id
where x.user_id = u.user_id;
insert into app.users (name, balance) values ('money heavy', 1000000) returning user_id as heavy \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at)
select :heavy, 'CHARGE', 100, 100 * g, :'t0'::timestamptz - interval '30 days' + g * interval '1 minute'
from generate_series(1, 10000) g;
insert into app.outbox (kind, user_id, payload, created_at, dispatched_at)
select 'payment.completed', p.user_id, jsonb_build_object('paymentId', p.payment_id, 'amount', p.amount),
       p.paid_at, p.paid_at + interval '1 second'
from app.payments p join u on u.user_id = p.user_id order by p.payment_id;
-- Stored answers: every payment and every user's second charge was sent with an Idempotency-Key.
insert into app.idempotency_keys (user_id, key, request_hash, status, response, created_at)
select p.user_id, 'pay ' || p.payment_id, md5('payment_create:' || p.reservation_id || ':' || p.user_id), 201,
       jsonb_build_object('paymentId', p.payment_id, 'status', 'COMPLETED'), p.paid_at
from app.payments p join u on u.user_id = p.user_id
union all
select u.user_id, 'charge ' || u.i, md5('balance_charge:2500000:' || u.user_id), 200,
       jsonb_build_object('userId', u.user_id, 'balance', 5000000), :'t0'::timestamptz - interval '32 days'
from u;
-- Queue tickets: a USED one per payment, an ACTIVE one per holder and concert (and for the heavy user), and a
-- WAITING line on the last concert, numbered per concert in that order.
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at, ended_at)
select x.concert_id, row_number() over (partition by x.concert_id order by x.ord, x.at, x.user_id), x.user_id, x.status,
       x.at - interval '20 minutes', x.at - interval '10 seconds',
       case when x.status <> 'WAITING' then x.at - interval '5 minutes' end,
       case when x.status <> 'WAITING' then x.at + interval '10 minutes' end,
       case when x.status = 'USED' then x.at end
from (select p.concert_id, p.user_id, 'USED' as status, 1 as ord, p.paid_at as at
      from app.payments p join u on u.user_id = p.user_id
      union all
      select distinct r.concert_id, r.user_id, 'ACTIVE', 2, :'t0'::timestamptz
      from app.reservations r where r.status = 'HELD' and r.concert_id > :c0
      union all
      select :first_concert, :heavy, 'ACTIVE', 2, :'t0'::timestamptz
      union all
      select :last_concert, u.user_id, 'WAITING', 3, :'t0'::timestamptz - (u.i % 30) * interval '1 second'
      from u
      where u.i <= :scale / 10
        and not exists (select from app.reservations r
                        where r.user_id = u.user_id and r.concert_id = :last_concert and r.status = 'HELD')) x;
-- (numbers loaded past the API: the sequence and the closed part of the line move past them)
select setval('app.queue_tickets_queue_no_seq', greatest((select max(queue_no) from app.queue_tickets),
                                                         (select last_value from app.queue_tickets_queue_no_seq))) \g /dev/null
update app.queue_line set closed_below = (select last_value + 1 from app.queue_tickets_queue_no_seq);
update app.queues q
set admitted_upto = t.admitted_upto
from (select t.concert_id, max(t.queue_no) as last_no, max(t.queue_no) filter (where t.status <> 'WAITING') as admitted_upto
      from app.queue_tickets t where t.concert_id > :c0 group by t.concert_id) t
where q.concert_id = t.concert_id;
reset session_replication_role;
analyze app.users;
analyze app.concerts;
analyze app.concert_dates;
analyze app.seats;
analyze app.reservations;
analyze app.payments;
analyze app.ledger;
analyze app.outbox;
analyze app.idempotency_keys;
analyze app.queues;
analyze app.queue_tickets;

select ok((select count(*) from app.payments) >= :scale / 6 and (select count(*) from app.ledger) >= :scale / 2
          and (select count(*) from app.idempotency_keys) >= :scale / 3,
  format('money data loaded: %s users, %s reservations, %s payments, %s ledger rows, %s queue tickets, %s idempotency keys',
    (select count(*) from app.users), (select count(*) from app.reservations), (select count(*) from app.payments),
    (select count(*) from app.ledger), (select count(*) from app.queue_tickets), (select count(*) from app.idempotency_keys)));

-- The callers: holders of live holds, one hold each, with their ACTIVE ticket for the hold's concert.
-- 1..8 pay, 9..16 pay with an Idempotency-Key, 17..24 charge, read the balance, the history and the payments,
-- 25..32 charge with an Idempotency-Key.
create temp table actor as
select row_number() over (order by h.reservation_id) as i, h.reservation_id, h.user_id, t.token
from (select distinct on (r.user_id) r.reservation_id, r.user_id, r.concert_id
      from app.reservations r where r.status = 'HELD' and r.concert_id > :c0 order by r.user_id, r.reservation_id) h
join app.queue_tickets t on t.user_id = h.user_id and t.concert_id = h.concert_id and t.status = 'ACTIVE'
order by h.reservation_id
limit 32;
grant select on actor to boxoffice_api;
select t.token as heavy_token from app.queue_tickets t where t.user_id = :heavy \gset
select u.user_id as reader, t.token as reader_token
from pg_temp.actor u join app.queue_tickets t on t.token = u.token where u.i = 17 \gset
select count(*) as reader_payments from app.payments p where p.user_id in (select a.user_id from actor a where a.i between 17 and 24) \gset

-- The payment list's statement (api.payment_list).
\set list_query 'select coalesce(jsonb_agg(app.payment_json(p, r) order by p.payment_id desc), ''[]''::jsonb) from app.payments p join app.reservations r on r.reservation_id = p.reservation_id where p.user_id = $1'
select pg_temp.uses_index_only(tests.plan(replace(:'list_query', '$1', :'reader')), 'payments_user_id_payment_id_idx',
  array['payments', 'reservations'], 'payment list: payments_user_id_payment_id_idx, no Seq Scan of payments or reservations');
select pg_temp.uses_index_only(tests.generic_plan(:'list_query', 'bigint', :'reader'), 'payments_user_id_payment_id_idx',
  array['payments', 'reservations'], 'payment list, generic plan: payments_user_id_payment_id_idx, no Seq Scan');

-- The history's statement (api.balance_history), a typical user and the heavy one.
\set history_query 'select coalesce(jsonb_agg(jsonb_build_object(''entryId'', l.entry_id, ''kind'', l.kind, ''amount'', l.amount, ''balanceAfter'', l.balance_after, ''at'', app.iso(l.created_at)) order by l.entry_id desc), ''[]''::jsonb) from (select * from app.ledger l where l.user_id = $1 order by l.entry_id desc limit $2) l'
select pg_temp.uses_index_only(tests.plan(replace(replace(:'history_query', '$1', :'reader'), '$2', '50')),
  'ledger_user_id_entry_id_idx', array['ledger'], 'history: ledger_user_id_entry_id_idx, no Seq Scan of ledger');
select pg_temp.uses_index_only(tests.generic_plan(:'history_query', 'bigint, integer', :'reader' || ', 50'),
  'ledger_user_id_entry_id_idx', array['ledger'], 'history, generic plan: ledger_user_id_entry_id_idx, no Seq Scan of ledger');
select tests.analyzed_plan(replace(replace(:'history_query', '$1', :'heavy'), '$2', '50')) as p \gset
-- Its 10 000 rows are the newest of the ledger, so the planner may walk ledger_pkey backward instead (as in
-- bench/explain/REPORT.md); either way only its 50 newest rows are read.
select ok(not jsonb_path_exists(:'p', 'strict $.** ? (@."Node Type" == "Seq Scan" && @."Relation Name" == "ledger")'),
  'history of the heavy user: no Seq Scan of ledger (' || array_to_string(array(select jsonb_array_elements_text(tests.index_names(:'p'))), ', ') || ')');
select cmp_ok(tests.rows_read(:'p', 'ledger'), '<=', 51::bigint, 'history of the heavy user: reads the 50 newest of its 10 000 rows');

-- The foreign-key checks of the inserts (payments, ledger, idempotency_keys; the outbox has none): the query
-- RI_FKey_check runs, generic plan, must use the index behind the key it references.
create temp table fk_check as
select c.conname, c.conindid::regclass::text as index_name,
       format('select 1 from only %s x where %s for key share of x', c.confrelid::regclass,
              string_agg(format('%I operator(pg_catalog.=) $%s', a.attname, k.n), ' and ' order by k.n)) as query,
       string_agg(format_type(a.atttypid, a.atttypmod), ', ' order by k.n) as types,
       string_agg('1', ', ' order by k.n) as args
from pg_constraint c
cross join unnest(c.confkey) with ordinality k (attnum, n)
join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum
where c.contype = 'f' and c.conrelid in ('app.payments'::regclass, 'app.ledger'::regclass, 'app.idempotency_keys'::regclass)
group by c.conname, c.conindid, c.confrelid;
create temp table fk_plan as
select f.*, tests.generic_plan(f.query, f.types, f.args) as plan from fk_check f;
-- (4: the ledger's key to payments went, its check read the page every payment inserts into; see 0005)
select ok(count(*) = 4 and bool_and(tests.index_names(f.plan) ? regexp_replace(f.index_name, '^app\.', '')
                                     and not jsonb_path_exists(f.plan, 'strict $.** ? (@."Node Type" == "Seq Scan")')),
  'the ' || count(*) || ' foreign-key checks of the inserts read the referenced primary key: '
    || string_agg(f.conname, ', ' order by f.conname))
from fk_plan f;

-- api.payment_create x 8, no Idempotency-Key.
select pg_temp.snap('pay') \g /dev/null
-- (as the owner: app.payment_create takes the clock)
select is(count(*) filter (where app.payment_create(a.token, a.reservation_id, at => :'t0') ->> 'status' = 'COMPLETED'),
  8::bigint, 'api.payment_create x 8 pays for 8 held seats')
from pg_temp.actor a where a.i between 1 and 8;
reset role;
select pg_temp.snap('pay/') \g /dev/null
select pg_temp.reads_ok('pay', 8, 50, 'api.payment_create x 8');
select pg_temp.indexes_scanned('pay',
  array['queue_tickets_active_token_idx', 'reservations_pkey', 'users_pkey'], 8,
  'api.payment_create x 8: the ACTIVE token by queue_tickets_active_token_idx, the reservation, the user (and the '
  || 'foreign-key checks) by primary key');
-- Not queue_tickets_pkey: in SERIALIZABLE that read locks the leaf page where other payments' USED tickets go
-- (sql/indexes/queue_tickets_active_token_idx.sql; sql/tests/payment_create/interleaved.sh).
select is((select a.scans - b.scans from pg_temp.index_snaps a join pg_temp.index_snaps b using (indexname)
           where a.label = 'pay/' and b.label = 'pay' and indexname = 'queue_tickets_pkey'), 0::bigint,
  'api.payment_create x 8 does not read queue_tickets_pkey');

-- api.payment_create x 8 with an Idempotency-Key, then the same requests again (the replays).
select pg_temp.snap('pay key') \g /dev/null
-- (as the owner: app.payment_create takes the clock)
select jsonb_agg(app.payment_create(a.token, a.reservation_id, idempotency_key => 'explain pay ' || a.i, at => :'t0')
                 order by a.i) as paid
from pg_temp.actor a where a.i between 9 and 16 \gset
reset role;
select pg_temp.snap('pay key/') \g /dev/null
select is((select count(*) from jsonb_array_elements(:'paid') e where e ->> 'status' = 'COMPLETED'), 8::bigint,
  'api.payment_create with a key x 8 pays for 8 held seats');
select pg_temp.reads_ok('pay key', 8, 50, 'api.payment_create with a key x 8');
select pg_temp.indexes_scanned('pay key', array['idempotency_keys_pkey'], 8,
  'api.payment_create with a key x 8: the key by idempotency_keys_pkey');
select pg_temp.snap('pay replay') \g /dev/null
-- (as the owner: app.payment_create takes the clock)
select jsonb_agg(app.payment_create(a.token, a.reservation_id, idempotency_key => 'explain pay ' || a.i,
                                    at => :'t0'::timestamptz + interval '1 minute') order by a.i) as replayed
from pg_temp.actor a where a.i between 9 and 16 \gset
reset role;
select pg_temp.snap('pay replay/') \g /dev/null
select is(:'replayed'::jsonb, :'paid'::jsonb, 'api.payment_create replays x 8 return the first answers');
select pg_temp.reads_ok('pay replay', 8, 50, 'api.payment_create replays x 8');
select pg_temp.indexes_scanned('pay replay', array['queue_tickets_pkey', 'idempotency_keys_pkey'], 8,
  'api.payment_create replays x 8: the token and the key by primary key');

-- api.balance_charge x 8, no Idempotency-Key.
select pg_temp.snap('charge') \g /dev/null
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(count(*) filter (where (app.balance_charge(a.token, 10000, as_of => :'t0') ->> 'balance')::bigint > 10000),
  8::bigint, 'api.balance_charge x 8 charges 8 users')
from pg_temp.actor a where a.i between 17 and 24;
select pg_temp.snap('charge/') \g /dev/null
select pg_temp.reads_ok('charge', 8, 50, 'api.balance_charge x 8');
select pg_temp.indexes_scanned('charge', array['queue_tickets_pkey', 'users_pkey'], 8,
  'api.balance_charge x 8: the token and the user (and the ledger''s foreign-key check) by primary key');

-- api.balance_charge x 8 with an Idempotency-Key, then the replays.
select pg_temp.snap('charge key') \g /dev/null
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select jsonb_agg(app.balance_charge(a.token, 20000, idempotency_key => 'explain charge ' || a.i, as_of => :'t0')
                 order by a.i) as charged
from pg_temp.actor a where a.i between 25 and 32 \gset
select pg_temp.snap('charge key/') \g /dev/null
select is(jsonb_array_length(:'charged'), 8, 'api.balance_charge with a key x 8 charges 8 users');
select pg_temp.reads_ok('charge key', 8, 50, 'api.balance_charge with a key x 8');
select pg_temp.snap('charge replay') \g /dev/null
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select jsonb_agg(app.balance_charge(a.token, 20000, idempotency_key => 'explain charge ' || a.i,
                                    as_of => :'t0'::timestamptz + interval '1 minute') order by a.i) as replayed
from pg_temp.actor a where a.i between 25 and 32 \gset
select pg_temp.snap('charge replay/') \g /dev/null
select is(:'replayed'::jsonb, :'charged'::jsonb, 'api.balance_charge replays x 8 return the first answers');
select pg_temp.reads_ok('charge replay', 8, 50, 'api.balance_charge replays x 8');
select pg_temp.indexes_scanned('charge replay', array['idempotency_keys_pkey'], 8,
  'api.balance_charge replays x 8: the key by idempotency_keys_pkey');

-- api.balance_get x 8.
select pg_temp.snap('balance') \g /dev/null
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select app.balance_get(a.token, as_of => :'t0') from pg_temp.actor a where a.i between 17 and 24 \g /dev/null
select pg_temp.snap('balance/') \g /dev/null
select pg_temp.reads_ok('balance', 8, 50, 'api.balance_get x 8');

-- api.balance_history x 8, typical users, then the heavy user x 8.
select count(*) as reader_entries from app.ledger l
where l.user_id in (select a.user_id from pg_temp.actor a where a.i between 17 and 24) \gset
select pg_temp.snap('history') \g /dev/null
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(sum(jsonb_array_length(app.balance_history(a.token, as_of => :'t0') -> 'entries'))::bigint,
  :reader_entries::bigint, 'api.balance_history x 8 returns the users'' ' || :reader_entries || ' ledger rows')
from pg_temp.actor a where a.i between 17 and 24;
select pg_temp.snap('history/') \g /dev/null
select pg_temp.reads_ok('history', 8, 50, 'api.balance_history x 8');
select pg_temp.indexes_scanned('history', array['ledger_user_id_entry_id_idx'], 8,
  'api.balance_history x 8: ledger_user_id_entry_id_idx');
select pg_temp.snap('heavy') \g /dev/null
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(sum(jsonb_array_length(app.balance_history(:'heavy_token', as_of => :'t0'::timestamptz + g * interval '1 s') -> 'entries'))::bigint,
  8 * 50::bigint, 'api.balance_history of the heavy user x 8 returns 50 entries each')
from generate_series(1, 8) g;
select pg_temp.snap('heavy/') \g /dev/null
select pg_temp.reads_ok('heavy', 8, 60, 'api.balance_history of the heavy user x 8 (limit 50)');

-- api.payment_list x 8.
select pg_temp.snap('list') \g /dev/null
set local role boxoffice_api;
select is(sum(jsonb_array_length(api.payment_list(a.token) -> 'payments'))::bigint, :reader_payments::bigint,
  'api.payment_list x 8 returns the users'' ' || :reader_payments || ' payments')
from pg_temp.actor a where a.i between 17 and 24;
reset role;
select pg_temp.snap('list/') \g /dev/null
select pg_temp.reads_ok('list', 8, 50, 'api.payment_list x 8');
select pg_temp.indexes_scanned('list', array['payments_user_id_payment_id_idx'], 8,
  'api.payment_list x 8: payments_user_id_payment_id_idx');

select * from finish();
rollback;
