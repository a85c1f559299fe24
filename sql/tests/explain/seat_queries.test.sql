-- EXPLAIN ANALYZE of the seat queries at scale: 100 000 seats (20 concerts x 100 dates x 50 seats, as
-- `boxoffice seed --scale 100000` lays them out), a fifth sold, 2 % held and a few holds lapsed, with their
-- reservations. Free seats (api.seat_list), dates (api.concert_dates), the seat hold (api.seat_hold) and hold
-- expiry (api.holds_expire) must read a date's or a concert's seats through an index, never the table.
-- (seat_indexes.test.sql checks the plans' index names; this file checks the rows they read.)
-- Three kinds of check per query:
--   - EXPLAIN (FORMAT JSON) of the statement (app.seat_free_list and app.date_availability_list are the
--     inlined helpers the api functions run; the seat hold's and the expiry's statements are copied from
--     sql/procedures with the PL/pgSQL variables as parameters), custom and generic plan;
--   - EXPLAIN (ANALYZE, FORMAT JSON): the rows its scan nodes read from seats;
--   - the real api function called eight times in this session (so that PL/pgSQL's plan cache has made its
--     choice): pg_stat_xact_user_tables must show no sequential scan of seats and few rows fetched.
begin;
select plan(24);
-- eight holds of one token, more than MAX_HOLDS_PER_TOKEN's default
select tests.setting('max_holds_per_token', 50);

-- The plan helpers (tests.plan, tests.generic_plan, tests.analyzed_plan, tests.uses_index, tests.no_seq_scan,
-- tests.rows_read, tests.table_reads) are in sql/testing/fixtures/80_explain.sql.

select date_trunc('second', now()) as t0 \gset
select tests.setting('hold_seconds', 300);

select is(app.seed_scale(20, 100, :'t0'), 100000::bigint, '100 000 seats loaded');
select max(c.concert_id) as concert from app.concerts c \gset
select min(d.date_id) as date_id from app.concert_dates d where d.concert_id = :concert \gset
create temp table u as
with ins as (insert into app.users (name, balance) select 'seat ' || g, 1000000 from generate_series(1, 1000) g returning user_id)
select row_number() over (order by user_id) as i, user_id from ins;
select min(u.user_id) as u0 from u \gset
-- A fifth of the seats sold, 2 % held, 0.01 % held with a lapsed hold, each with its reservation.
select setseed(0.5);
create temp table pick as
select s.date_id, s.seat_no, s.concert_id, s.price, :u0 + s.k % 1000 as user_id,
       case when s.r < 0.20 then 'PAID' when s.r < 0.22 then 'HELD' else 'LAPSED' end as kind
from (select s.*, random() as r, row_number() over () as k from app.seats s) s
where s.r < 0.2201 and s.concert_id > :concert - 20;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at, ended_at)
select p.user_id, p.concert_id, p.date_id, p.seat_no, p.price, case when p.kind = 'PAID' then 'PAID' else 'HELD' end,
       :'t0'::timestamptz + x.created, :'t0'::timestamptz + x.created + interval '5 minutes',
       case when p.kind = 'PAID' then :'t0'::timestamptz + x.created + interval '1 minute' end
from pick p
cross join lateral (select case p.kind when 'HELD' then interval '-1 minute' when 'LAPSED' then interval '-6 minutes'
                                else interval '-2 hours' end as created) x;
update app.seats s
set status = case when r.status = 'PAID' then 'SOLD' else 'HELD' end, user_id = r.user_id,
    reservation_id = r.reservation_id, hold_expires_at = case when r.status = 'HELD' then r.expires_at end
from app.reservations r
where s.date_id = r.date_id and s.seat_no = r.seat_no and r.concert_id > :concert - 20;
analyze app.concerts;
analyze app.concert_dates;
analyze app.seats;
analyze app.reservations;
analyze app.users;
select count(*) as lapsed from app.seats s where s.status = 'HELD' and s.hold_expires_at <= :'t0' and s.concert_id > :concert - 20 \gset
select ok(:lapsed between 1 and 50, 'a few lapsed holds (' || :lapsed || ')');

insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
select :concert, u.i, u.user_id, 'ACTIVE', :'t0', :'t0', :'t0', :'t0'::timestamptz + interval '1 hour'
from u where u.i <= 10;
select t.token from app.queue_tickets t where t.concert_id = :concert and t.queue_no = 1 \gset

-- Free seats of a date (api.seat_list).
select tests.analyzed_plan(format('select * from app.seat_free_list(%s, %L)', :date_id, :'t0')) as p \gset
select count(*) as unsold_of_date from app.seats s where s.date_id = :date_id and s.status <> 'SOLD' \gset
select tests.uses_index(:'p', 'seats_date_id_seat_no_idx', 'free seats: seats_date_id_seat_no_idx');
select cmp_ok(tests.rows_read(:'p', 'seats'), '<=', :unsold_of_date::bigint,
  'free seats: reads only the date''s unsold seats (' || :unsold_of_date || ' of 50)');
select array_agg(d.date_id) as dates
from (select d.date_id from app.concert_dates d where d.concert_id = :concert order by d.date_id limit 8) d \gset
select * from tests.table_reads('seats') \gset before_
-- as the superuser: app.* (the clock) is not for boxoffice_api
select app.seat_list(:'token', :concert, d, :'t0') from unnest(:'dates'::bigint[]) d \g /dev/null
select * from tests.table_reads('seats') \gset after_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.seat_list x 8: no Seq Scan of seats');
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<=', 8 * 50::bigint, 'api.seat_list x 8: at most 50 seats per date fetched');

-- Dates of a concert with their free seats (api.concert_dates).
select tests.analyzed_plan(format('select * from app.date_availability_list(%s, %L)', :concert, :'t0')) as p \gset
select count(*) as unsold_of_concert from app.seats s where s.concert_id = :concert and s.status <> 'SOLD' \gset
select tests.uses_index(:'p', 'seats_date_id_seat_no_idx', 'dates: seats_date_id_seat_no_idx');
select cmp_ok(tests.rows_read(:'p', 'seats'), '<=', :unsold_of_concert::bigint,
  'dates: reads only the concert''s unsold seats (' || :unsold_of_concert || ' of 5 000)');
select cmp_ok(tests.rows_read(:'p', 'concert_dates'), '<=', 100::bigint, 'dates: reads only the concert''s 100 dates');
select * from tests.table_reads('seats') \gset before_
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select app.concert_dates(:'token', :concert, :'t0'::timestamptz + g * interval '1 s') from generate_series(1, 8) g \g /dev/null
select * from tests.table_reads('seats') \gset after_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.concert_dates x 8: no Seq Scan of seats');
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<=', 8 * 5000::bigint, 'api.concert_dates x 8: at most the concert''s seats each time');

-- The seat hold's UPDATE (api.seat_hold), on a free seat.
\set hold_query 'with old as (select s.date_id, s.seat_no, s.reservation_id from app.seats s where s.date_id = $1 and s.seat_no = $2 and (s.status = ''FREE'' or (s.status = ''HELD'' and s.hold_expires_at <= $3)) for update) update app.seats s set status = ''HELD'', user_id = $4, reservation_id = nextval(pg_catalog.pg_get_serial_sequence(''app.reservations'', ''reservation_id'')), hold_expires_at = $5 from old where s.date_id = old.date_id and s.seat_no = old.seat_no returning old.reservation_id, s.reservation_id, s.price'
select min(s.seat_no) as free_seat from app.seats s where s.date_id = :date_id and s.status = 'FREE' \gset
select u.user_id as holder from u where u.i = 1 \gset
select format('%s, %s, %L::timestamptz, %s, %L::timestamptz + interval ''300 s''', :date_id, :free_seat, :'t0', :holder, :'t0') as hold_args \gset
select tests.generic_plan(:'hold_query', 'bigint, integer, timestamptz, bigint, timestamptz', :'hold_args') as p \gset
select tests.uses_index(:'p', 'seats_pkey', 'seat hold, generic plan: seats_pkey');
select tests.no_seq_scan(:'p', 'seats', 'seat hold, generic plan: no Seq Scan on seats');
select tests.analyzed_plan(format(replace(replace(replace(replace(replace(:'hold_query',
  '$1', '%s'), '$2', '%s'), '$3', '%L::timestamptz'), '$4', '%s'), '$5', '%L::timestamptz + interval ''300 s'''),
  :date_id, :free_seat, :'t0', :holder, :'t0')) as p \gset
select tests.no_seq_scan(:'p', 'seats', 'seat hold: no Seq Scan on seats');
select cmp_ok(tests.rows_read(:'p', 'seats'), '<=', 2::bigint, 'seat hold: reads the one seat (to lock it, then to update it)');
select array_agg(s.date_id) as hold_dates, array_agg(s.seat_no) as hold_seats
from (select s.date_id, s.seat_no from app.seats s where s.concert_id = :concert and s.status = 'FREE' and s.date_id > :date_id
      order by s.date_id desc, s.seat_no limit 8) s \gset
select * from tests.table_reads('seats') \gset before_
select * from tests.table_reads('reservations') \gset before_r_
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(count(*) filter (where (app.seat_hold(:'token', :concert, h.date_id, h.seat_no, as_of => :'t0')).status = 201), 8::bigint,
  'api.seat_hold x 8 holds 8 seats')
from unnest(:'hold_dates'::bigint[], :'hold_seats'::integer[]) h (date_id, seat_no);
select * from tests.table_reads('seats') \gset after_
select * from tests.table_reads('reservations') \gset after_r_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.seat_hold x 8: no Seq Scan of seats');
select is((:after_r_seq_scans - :before_r_seq_scans)::bigint, 0::bigint, 'api.seat_hold x 8: no Seq Scan of reservations');
select cmp_ok((:after_rows_fetched - :before_rows_fetched)::bigint, '<=', 8 * 5::bigint, 'api.seat_hold x 8: a few seat rows each');

-- Lapsed holds (api.holds_expire).
\set expire_query 'with lapsed as (select s.date_id, s.seat_no, s.reservation_id from app.seats s where s.status = ''HELD'' and s.hold_expires_at <= $1 for update skip locked), freed as (update app.seats s set status = ''FREE'', user_id = null, reservation_id = null, hold_expires_at = null from lapsed l where s.date_id = l.date_id and s.seat_no = l.seat_no returning l.reservation_id), ended as (update app.reservations r set status = ''EXPIRED'', ended_at = r.expires_at from freed f where r.reservation_id = f.reservation_id and r.status = ''HELD'') select count(*)::integer from freed'
select tests.plan(replace(:'expire_query', '$1', quote_literal(:'t0') || '::timestamptz')) as p \gset
select tests.uses_index(:'p', 'seats_hold_expires_at_idx', 'hold expiry: seats_hold_expires_at_idx');
select tests.no_seq_scan(:'p', 'seats', 'hold expiry: no Seq Scan on seats');
select tests.analyzed_plan(replace(:'expire_query', '$1', quote_literal(:'t0') || '::timestamptz')) as p \gset
select cmp_ok(tests.rows_read(:'p', 'seats'), '<=', 2 * :lapsed::bigint, 'hold expiry: reads the lapsed holds (to lock them, then to free them)');
select * from tests.table_reads('seats') \gset before_
-- as the superuser: app.* (the clock) and tests.* are not for boxoffice_api
select is(sum(app.holds_expire(:'t0'::timestamptz + g * interval '1 ms'))::bigint, :lapsed::bigint,
  'api.holds_expire x 8 frees the lapsed holds')
from generate_series(1, 8) g;
select * from tests.table_reads('seats') \gset after_
select is((:after_seq_scans - :before_seq_scans)::bigint, 0::bigint, 'api.holds_expire x 8: no Seq Scan of seats');

select * from finish();
rollback;
