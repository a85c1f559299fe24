-- EXPLAIN of the seat queries at scale: 100 000 seats (40 concerts x 50 dates x 50 seats), a fifth of them sold and
-- some held. The free-seats query (api.seat_list), the dates query (api.concert_dates) and the lapsed-holds query
-- (api.holds_expire) must use the indexes of sql/indexes, never a Seq Scan on app.seats.
-- The api functions run app.seat_free_list and app.date_availability_list, SQL functions the planner inlines, so
-- EXPLAIN of a call of them is the plan of the statement the api function runs; the holds_expire query is copied.
begin;
select plan(17);

-- The plan helpers (tests.plan, tests.generic_plan, tests.uses_index) are in sql/testing/fixtures/80_explain.sql.

create function pg_temp.seq_scans_seats(plan jsonb) returns boolean language sql as $$
  select jsonb_path_exists(plan, 'strict $.** ? (@."Node Type" == "Seq Scan" && @."Relation Name" == "seats")')
$$;

insert into app.users (name) values ('buyer') returning user_id as buyer \gset
select is(app.seed_scale(40, 50), 100000::bigint, '100 000 seats loaded');
select max(c.concert_id) as concert from app.concerts c \gset
select max(d.date_id) as date_id from app.concert_dates d where d.concert_id = :concert \gset
-- Seats 1-10 of every date sold, seats 11-12 of every tenth date held (half of those lapsed).
update app.seats s set status = 'SOLD', user_id = :buyer, reservation_id = -1
where s.seat_no <= 10 and s.concert_id > :concert - 40;
update app.seats s set status = 'HELD', user_id = :buyer, reservation_id = -1,
  hold_expires_at = now() + case when s.seat_no = 11 then interval '-1 minute' else interval '5 minutes' end
where s.seat_no in (11, 12) and s.date_id % 10 = 0 and s.concert_id > :concert - 40;
analyze app.concerts;
analyze app.concert_dates;
analyze app.seats;
analyze app.reservations;

-- Free seats of one date (api.seat_list).
select tests.plan(format('select * from app.seat_free_list(%s, now())', :date_id)) as p \gset
select tests.uses_index(:'p', 'seats_date_id_seat_no_idx', 'free seats: seats_date_id_seat_no_idx');
select ok(not pg_temp.seq_scans_seats(:'p'), 'free seats: no Seq Scan on seats');
select tests.generic_plan('select * from app.seat_free_list($1, $2)', 'bigint, timestamptz', format('%s, now()', :date_id)) as p \gset
select tests.uses_index(:'p', 'seats_date_id_seat_no_idx', 'free seats, generic plan: seats_date_id_seat_no_idx');
select ok(not pg_temp.seq_scans_seats(:'p'), 'free seats, generic plan: no Seq Scan on seats');

-- Dates of one concert with their free seats (api.concert_dates).
select tests.plan(format('select * from app.date_availability_list(%s, now())', :concert)) as p \gset
select tests.uses_index(:'p', 'seats_date_id_seat_no_idx', 'dates: seats_date_id_seat_no_idx');
select tests.uses_index(:'p', 'concert_dates_concert_id_starts_at_key', 'dates: concert_dates_concert_id_starts_at_key');
select ok(not pg_temp.seq_scans_seats(:'p'), 'dates: no Seq Scan on seats');
select tests.generic_plan('select * from app.date_availability_list($1, $2)', 'bigint, timestamptz', format('%s, now()', :concert)) as p \gset
select tests.uses_index(:'p', 'seats_date_id_seat_no_idx', 'dates, generic plan: seats_date_id_seat_no_idx');
select ok(not pg_temp.seq_scans_seats(:'p'), 'dates, generic plan: no Seq Scan on seats');

-- Lapsed holds (api.holds_expire; the CTE's row source, copied).
select tests.plan($$
  select s.date_id, s.seat_no, s.reservation_id
  from app.seats s
  where s.status = 'HELD' and s.hold_expires_at <= now()
  for update skip locked$$) as p \gset
select tests.uses_index(:'p', 'seats_hold_expires_at_idx', 'lapsed holds: seats_hold_expires_at_idx');
select ok(not pg_temp.seq_scans_seats(:'p'), 'lapsed holds: no Seq Scan on seats');

-- The /metrics scrape (app.onsale_metrics), every concert with a line: it counts held and sold seats on the indexes
-- that hold only those (seats_hold_expires_at_idx, seats_concert_id_sold_idx), never every seat of every concert.
insert into app.queues (concert_id) select c.concert_id from app.concerts c on conflict do nothing;
select seq_scans as seq_before, rows_fetched as fetched_before from tests.table_reads('seats') \gset
select app.onsale_metrics(now()) as metrics \gset
select seq_scans as seq_after, rows_fetched as fetched_after from tests.table_reads('seats') \gset
select is((:seq_after - :seq_before)::bigint, 0::bigint, 'metrics: no Seq Scan on seats');
select cmp_ok((:fetched_after - :fetched_before)::bigint, '<', 50000::bigint,
  'metrics: reads the held and sold seats (about 21 000 with the holds once per concert), not the 100 000 seats');
select is((select sum((c ->> 'sold')::bigint) from jsonb_array_elements(:'metrics'::jsonb -> 'concerts') c)::bigint,
  (select count(*) from app.seats s where s.status = 'SOLD'), 'metrics: every sold seat counted');

-- The api functions answer at this scale.
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :buyer, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token \gset
set local role boxoffice_api;
select is(jsonb_array_length(api.concert_dates(:'token'::uuid, :concert) -> 'dates'), 50, 'api.concert_dates lists the 50 dates');
select is(jsonb_path_query_array(api.seat_list(:'token'::uuid, :concert, :date_id), '$.seats[*].seatNo'),
  (select jsonb_agg(n order by n) from generate_series(11, 50) n where n <> 12 or :date_id % 10 <> 0),
  'api.seat_list lists the unsold seats that are not held (a lapsed hold counts as free)');

select * from finish();
rollback;
