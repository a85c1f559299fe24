-- The pgTAP tests' fixture library: schema `tests`, functions that build the
-- rows the tests start from, so that each test states WHAT it starts from in
-- a line or two and keeps only its own steps and assertions.
--
-- Loaded once into the test database before pg_prove (scripts/test):
--   psql -q -X -v ON_ERROR_STOP=1 -d DB -f sql/testing/fixtures.sql
-- It lives outside sql/tests, which pg_prove runs file by file.
--
-- Rules for the functions here:
-- - They only build rows; they assert nothing (the tests keep their plan and
--   their assertions) and raise only on misuse. The EXPLAIN helpers at the end
--   are the exception: they read plans, and two of them return TAP lines.
-- - They write the tables directly (as the tests' own inserts did) and keep
--   the invariants api.audit() checks: a user with a balance has the CHARGE
--   ledger row for it, a HELD reservation holds its seat, a PAID one has its
--   seat SOLD. Queue tickets take the next queue_no from app.queues, which is
--   made on the first ticket of a concert, as api.queue_join does.
-- - They are created by the superuser and called by it, BEFORE a test's
--   `set local role boxoffice_api` (or after `reset role`): boxoffice_api has
--   no privilege on schema tests.
-- - Times are relative to now(), the test transaction's start, like the tests'.
-- - A function that returns several ids returns one row whose columns are
--   named for psql's \gset: `select * from tests.seat_world() \gset` sets
--   :ann, :concert, :date1, :ann_token, ...
set client_min_messages = warning;
begin;

drop schema if exists tests cascade;
create schema tests;
comment on schema tests is 'pgTAP fixtures (sql/testing/fixtures.sql): functions that build test rows, and the EXPLAIN tests'' plan helpers; superuser only.';

-- Policy ----------------------------------------------------------------

-- Sets one policy value (app.settings) for the rest of the test's
-- transaction, as a DBA would with api.setting_set; the test's rollback
-- restores it. A session SET boxoffice.<name> no longer reaches the policy.
create function tests.setting(name text, value bigint)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  perform api.setting_set(setting.name, app.setting_text(setting.name, setting.value));
end
$$;

comment on function tests.setting(text, bigint) is
'Sets policy value name (app.settings) through api.setting_set, until the test''s transaction ends.';

-- Users ------------------------------------------------------------------

create function tests.user(name text, balance bigint default 0)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_user_id bigint;
begin
  insert into app.users (name, balance) values ("user".name, "user".balance)
  returning users.user_id into v_user_id;
  if "user".balance > 0 then
    insert into app.ledger (user_id, kind, amount, balance_after, created_at)
    values (v_user_id, 'CHARGE', "user".balance, "user".balance, now());
  end if;
  return v_user_id;
end
$$;

comment on function tests.user(text, bigint) is
'A user named name with balance; a balance above 0 comes with the CHARGE ledger row that explains it
(amount = balance_after = balance, now), so the audit''s money invariants hold. Returns user_id.';

create function tests.users(how_many integer, name text default 'user')
returns table (n integer, user_id bigint)
language sql
volatile
set search_path = ''
as $$
  with u as (
    insert into app.users (name)
    select users.name || ' ' || g from pg_catalog.generate_series(1, users.how_many) g
    returning app.users.user_id)
  select (row_number() over (order by u.user_id))::integer, u.user_id from u
$$;

comment on function tests.users(integer, text) is
'how_many users with a zero balance, named "<name> 1" .. "<name> how_many".
Returns (n, user_id), n = 1..how_many in the order they were made (for a temp table fx_users).';

-- Concerts, dates, seats ---------------------------------------------------

create function tests.concert_date(
  concert_id bigint,
  starts_at timestamptz,
  price bigint default 50000,
  price_step bigint default 0)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_date_id bigint;
begin
  insert into app.concert_dates (concert_id, starts_at)
  values (concert_date.concert_id, concert_date.starts_at)
  returning concert_dates.date_id into v_date_id;
  insert into app.seats (date_id, seat_no, concert_id, price)
  select v_date_id, n, concert_date.concert_id, concert_date.price + concert_date.price_step * n
  from pg_catalog.generate_series(1, 50) n;
  return v_date_id;
end
$$;

comment on function tests.concert_date(bigint, timestamptz, bigint, bigint) is
'A date of the concert starting at starts_at, with its 50 FREE seats; seat n costs price + price_step * n.
Returns date_id.';

create function tests.concert(
  dates integer default 1,
  price bigint default 50000,
  starts_in interval default '30 days',
  price_step bigint default 0,
  title text default 'Test concert',
  venue text default 'Test hall')
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_concert_id bigint;
begin
  insert into app.concerts (title, venue) values (concert.title, concert.venue)
  returning concerts.concert_id into v_concert_id;
  for i in 1 .. concert.dates loop
    perform tests.concert_date(v_concert_id, now() + concert.starts_in + make_interval(days => i - 1),
                               concert.price, concert.price_step);
  end loop;
  return v_concert_id;
end
$$;

comment on function tests.concert(integer, bigint, interval, bigint, text, text) is
'A concert (title, venue) with dates dates, the first starting at now() + starts_in and each next one a day later,
each with 50 FREE seats, seat n costing price + price_step * n (tests.concert_date). No app.queues row: the first
ticket makes it (tests.*_ticket, api.queue_join). Returns concert_id.';

create function tests.date_of(concert_id bigint, n integer default 1)
returns bigint
language sql
stable
set search_path = ''
as $$
  select d.date_id from app.concert_dates d
  where d.concert_id = date_of.concert_id
  order by d.date_id
  offset date_of.n - 1 limit 1
$$;

comment on function tests.date_of(bigint, integer) is
'The date_id of the concert''s n-th date, in the order the dates were made.';

-- Queue tickets --------------------------------------------------------------

create function tests.ticket(
  user_id bigint,
  concert_id bigint,
  status text,
  expires_in interval default '10 minutes')
returns uuid
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_queue_no bigint;
  v_token uuid;
begin
  if ticket.status not in ('WAITING', 'ACTIVE', 'EXPIRED', 'LEFT', 'USED') then
    raise exception 'tests.ticket: unknown status %', ticket.status;
  end if;
  insert into app.queues (concert_id) values (ticket.concert_id)
  on conflict on constraint queues_pkey do nothing;
  -- A number from the sequence, as a join draws it (marked in flight).
  perform app.queue_join_mark();
  v_queue_no := nextval('app.queue_tickets_queue_no_seq');
  insert into app.queue_tickets
    (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at, ended_at)
  values (ticket.concert_id, v_queue_no, ticket.user_id, ticket.status, now(), now(),
          case when ticket.status = 'ACTIVE' then now() end,
          case when ticket.status = 'ACTIVE' then now() + ticket.expires_in end,
          case when ticket.status not in ('WAITING', 'ACTIVE') then now() end)
  returning queue_tickets.token into v_token;
  -- The watermark moves with a ticket that has left the line (any but
  -- WAITING) when no WAITING ticket of the concert is behind it; otherwise an
  -- ended ticket never admitted is a departure, counted as the API counts one.
  if ticket.status = 'WAITING' then
    null;
  elsif not exists (select from app.queue_tickets t
                    where t.concert_id = ticket.concert_id and t.status = 'WAITING' and t.queue_no < v_queue_no) then
    update app.queues q set admitted_upto = v_queue_no where q.concert_id = ticket.concert_id;
    -- (the watermark lies in the closed part: this session is the only joiner)
    update app.queue_line l set closed_below = greatest(l.closed_below, v_queue_no + 1);
    perform app.queue_blocks_prune(ticket.concert_id, 0, v_queue_no);
  elsif ticket.status <> 'ACTIVE' then
    perform app.queue_blocks_add(array[ticket.concert_id], array[v_queue_no]);
  end if;
  return v_token;
end
$$;

comment on function tests.ticket(bigint, bigint, text, interval) is
'A queue ticket of the user for the concert with the next number of the sequence, joined and last seen now:
WAITING; ACTIVE (activated now, expiring after expires_in); or ended now (EXPIRED, LEFT, USED; never activated).
Makes the concert''s app.queues row if missing, and moves admitted_upto to this ticket when it is not WAITING and
no WAITING ticket is before it; otherwise an ended ticket is counted in app.queue_blocks. Returns the token.
An ACTIVE ticket behind a WAITING one breaks arrival order: tests that need one make it first.';

create function tests.active_ticket(user_id bigint, concert_id bigint, expires_in interval default '10 minutes')
returns uuid
language sql
volatile
set search_path = ''
as $$
  select tests.ticket(active_ticket.user_id, active_ticket.concert_id, 'ACTIVE', active_ticket.expires_in)
$$;

comment on function tests.active_ticket(bigint, bigint, interval) is
'An ACTIVE ticket (tests.ticket), admitted now and live for expires_in. Returns the token.';

create function tests.waiting_ticket(user_id bigint, concert_id bigint)
returns uuid
language sql
volatile
set search_path = ''
as $$
  select tests.ticket(waiting_ticket.user_id, waiting_ticket.concert_id, 'WAITING')
$$;

comment on function tests.waiting_ticket(bigint, bigint) is
'A WAITING ticket (tests.ticket) at the back of the line, last seen now. Returns the token.';

create function tests.ended_ticket(user_id bigint, concert_id bigint, status text default 'LEFT')
returns uuid
language sql
volatile
set search_path = ''
as $$
  select tests.ticket(ended_ticket.user_id, ended_ticket.concert_id, ended_ticket.status)
$$;

comment on function tests.ended_ticket(bigint, bigint, text) is
'A ticket that ended now (tests.ticket): status LEFT, USED or EXPIRED. Returns the (dead) token.';

create function tests.clear_queues()
returns void
language sql
volatile
set search_path = ''
as $$
  update app.queue_tickets set status = 'EXPIRED', ended_at = now() where status in ('WAITING', 'ACTIVE');
  update app.queues q
  set admitted_upto = greatest(q.admitted_upto,
        coalesce((select max(t.queue_no) from app.queue_tickets t where t.concert_id = q.concert_id), 0));
$$;

comment on function tests.clear_queues() is
'Takes the lines of other concerts out of the picture for the job functions, which count over the whole
database: every live ticket EXPIRED, every watermark at the end of its line (rolled back with the test).';

create function tests.queue_line(concert_id bigint, users integer, name text default 'user')
returns table (u1 bigint, u2 bigint, u3 bigint, u4 bigint, u5 bigint,
               t1 uuid, t2 uuid, t3 uuid, t4 uuid, t5 uuid)
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_users bigint[] := '{}'::bigint[];
  v_tokens uuid[] := '{}'::uuid[];
  v_user_id bigint;
begin
  if queue_line.users not between 1 and 5 then
    raise exception 'tests.queue_line: 1 to 5 users, not %', queue_line.users;
  end if;
  for i in 1 .. queue_line.users loop
    v_user_id := tests.user(queue_line.name || ' ' || i);
    v_users := v_users || v_user_id;
    v_tokens := v_tokens || ((api.queue_join(v_user_id, queue_line.concert_id)).body ->> 'token')::uuid;
  end loop;
  u1 := v_users[1]; u2 := v_users[2]; u3 := v_users[3]; u4 := v_users[4]; u5 := v_users[5];
  t1 := v_tokens[1]; t2 := v_tokens[2]; t3 := v_tokens[3]; t4 := v_tokens[4]; t5 := v_tokens[5];
  return next;
end
$$;

comment on function tests.queue_line(bigint, integer, text) is
'users (1..5) new users, "<name> 1" .., who join the concert''s line in turn through api.queue_join, now.
Returns one row: u1..u5 their user_ids and t1..t5 their WAITING tokens (null past users; \gset leaves those unset).';

create function tests.long_line(concert_id bigint, first_no bigint, last_no bigint)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_count bigint;
begin
  if long_line.first_no < 1 or long_line.last_no < long_line.first_no then
    raise exception 'tests.long_line: queue numbers % to %', long_line.first_no, long_line.last_no;
  end if;
  insert into app.queues (concert_id) values (long_line.concert_id)
  on conflict on constraint queues_pkey do nothing;
  if exists (select from app.queues q
             where q.concert_id = long_line.concert_id and q.admitted_upto <> 0)
     or exists (select from app.queue_tickets t where t.concert_id = long_line.concert_id) then
    raise exception 'tests.long_line: concert % has a line already', long_line.concert_id;
  end if;
  with u as (
    insert into app.users (name)
    select 'line ' || long_line.concert_id || ' ' || g
    from pg_catalog.generate_series(long_line.first_no, long_line.last_no) g
    returning users.user_id),
  t as (
    insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
    select long_line.concert_id, long_line.first_no - 1 + row_number() over (order by u.user_id), u.user_id,
           'WAITING', now(), now()
    from u
    returning 1)
  select count(*) into v_count from t;
  -- The numbers up to last_no are handed out (the sequence moves past them)
  -- and the line is closed there, as if those joins had ended; the arrival
  -- counters are written as admission writes them.
  perform setval('app.queue_tickets_queue_no_seq',
                 greatest(long_line.last_no, (select s.last_value from app.queue_tickets_queue_no_seq s)));
  update app.queue_line set closed_below = greatest(closed_below, long_line.last_no + 1);
  update app.queues q
  set admitted_upto = long_line.first_no - 1,
      counted_below = app.queue_arrivals_count(long_line.concert_id, long_line.first_no - 1, 0, long_line.last_no + 1)
  where q.concert_id = long_line.concert_id;
  return v_count;
end
$$;

comment on function tests.long_line(bigint, bigint, bigint) is
'A long line for the concert, made set-based: one new user ("line <concert> <n>") and one WAITING ticket, joined
and last seen now, for each queue number first_no .. last_no; the watermark at first_no - 1 (everyone before has
been through the line, their tickets long gone); the sequence and the closed part of the line moved to last_no,
the arrival counters written. For a concert without a line yet. The numbers may lie below ones handed out to
other concerts (a line is per concert); a test fixture only: in a live database a join still in flight could
hold one of them.
Returns the number of tickets.';

-- Reservations -----------------------------------------------------------

create function tests.reservation(
  user_id bigint,
  date_id bigint,
  seat_no integer,
  status text default 'HELD',
  held_at timestamptz default now(),
  expires_in interval default '5 minutes',
  price bigint default null)
returns bigint
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_seat app.seats;
  v_expires_at timestamptz := reservation.held_at + reservation.expires_in;
  v_reservation_id bigint;
begin
  select * into v_seat from app.seats s where s.date_id = reservation.date_id and s.seat_no = reservation.seat_no;
  if not found then
    raise exception 'tests.reservation: no seat %/%', reservation.date_id, reservation.seat_no;
  end if;
  insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at, ended_at)
  values (reservation.user_id, v_seat.concert_id, reservation.date_id, reservation.seat_no,
          coalesce(reservation.price, v_seat.price), reservation.status, reservation.held_at, v_expires_at,
          case reservation.status when 'HELD' then null when 'EXPIRED' then v_expires_at else now() end)
  returning reservations.reservation_id into v_reservation_id;
  if reservation.status = 'HELD' then
    update app.seats s
    set status = 'HELD', user_id = reservation.user_id, reservation_id = v_reservation_id, hold_expires_at = v_expires_at
    where s.date_id = reservation.date_id and s.seat_no = reservation.seat_no;
  elsif reservation.status = 'PAID' then
    update app.seats s
    set status = 'SOLD', user_id = reservation.user_id, reservation_id = v_reservation_id, hold_expires_at = null
    where s.date_id = reservation.date_id and s.seat_no = reservation.seat_no;
  end if;
  return v_reservation_id;
end
$$;

comment on function tests.reservation(bigint, bigint, integer, text, timestamptz, interval, bigint) is
'A reservation of the user for seat seat_no of date date_id (its concert taken from the seat), made at held_at,
expiring at held_at + expires_in, at price (default the seat''s price), and the seat to match:
HELD holds the seat until expires_at; PAID (ended now) sells it; CANCELLED (ended now) and EXPIRED (ended at
expires_at) leave the seat as it is. A PAID one has no payment or ledger row (tests.sold_seat).
Returns reservation_id.';

create function tests.held_reservation(
  user_id bigint,
  date_id bigint,
  seat_no integer,
  expires_in interval default '5 minutes',
  held_at timestamptz default now(),
  price bigint default null)
returns bigint
language sql
volatile
set search_path = ''
as $$
  select tests.reservation(held_reservation.user_id, held_reservation.date_id, held_reservation.seat_no, 'HELD',
                           held_reservation.held_at, held_reservation.expires_in, held_reservation.price)
$$;

comment on function tests.held_reservation(bigint, bigint, integer, interval, timestamptz, bigint) is
'A HELD reservation (tests.reservation) made at held_at, and its seat HELD by the user through it until
held_at + expires_in (in the past for a lapsed hold). Returns reservation_id.';

create function tests.sold_seat(user_id bigint, date_id bigint, seat_no integer)
returns bigint
language sql
volatile
set search_path = ''
as $$
  select tests.reservation(sold_seat.user_id, sold_seat.date_id, sold_seat.seat_no, 'PAID')
$$;

comment on function tests.sold_seat(bigint, bigint, integer) is
'A seat SOLD to the user through a PAID reservation at the seat''s price (tests.reservation), for tests of seats:
no payment and no ledger row are written (api.audit() would report them). Returns reservation_id.';

-- State snapshots ------------------------------------------------------------

create function tests.payment_state(user_id bigint, reservation_id bigint, token uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select concat_ws(' | ',
    (select u.balance from app.users u where u.user_id = payment_state.user_id),
    (select s.status || ':' || coalesce(s.user_id::text, '-') || ':' || coalesce(s.reservation_id::text, '-')
            || ':' || coalesce(s.hold_expires_at::text, '-')
     from app.reservations x join app.seats s on s.date_id = x.date_id and s.seat_no = x.seat_no
     where x.reservation_id = payment_state.reservation_id),
    (select x.status || ':' || coalesce(x.ended_at::text, '-') from app.reservations x
     where x.reservation_id = payment_state.reservation_id),
    (select count(*) from app.payments p where p.user_id = payment_state.user_id),
    (select count(*) || ':' || coalesce(sum(l.amount), 0) from app.ledger l where l.user_id = payment_state.user_id),
    (select count(*) from app.outbox o where o.user_id = payment_state.user_id),
    (select t.status from app.queue_tickets t where t.token = payment_state.token))
$$;

comment on function tests.payment_state(bigint, bigint, uuid) is
'The state a refused payment must leave alone, as one line of text: the user''s balance; the reservation''s seat
(status:user:reservation:hold_expires_at) and the reservation (status:ended_at); the user''s payments, ledger
(rows:sum) and outbox events; the token''s status. Take it before and compare after to prove nothing changed.';

create function tests.audit_baseline()
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  create temp table audit_before on commit drop as select a.invariant, a.subject from api.audit() a;
  create temp view audit_new as
    select a.invariant, a.subject from api.audit() a
    except select b.invariant, b.subject from pg_temp.audit_before b;
  grant select on pg_temp.audit_new to boxoffice_api;
end
$$;

comment on function tests.audit_baseline() is
'Makes the temp view audit_new (readable by boxoffice_api): the findings of api.audit() that were not there when
this was called. Call it first, before making any fixture, so that whatever the database held before the test
is the baseline and only the test''s own findings count.';

-- Worlds: the starting points several test files share -----------------------

create function tests.seat_world()
returns table (
  ann bigint, bob bigint, cid bigint,
  concert bigint, other_concert bigint,
  date1 bigint, date2 bigint, past_date bigint, other_date bigint,
  ann_token uuid, bob_token uuid, cid_token uuid, ann_other_token uuid)
language plpgsql
volatile
set search_path = ''
as $$
begin
  ann := tests.user('ann');
  bob := tests.user('bob');
  cid := tests.user('cid');
  concert := tests.concert(dates => 2, starts_in => '1 day', price => 0, price_step => 1000);
  date1 := tests.date_of(concert, 1);
  date2 := tests.date_of(concert, 2);
  past_date := tests.concert_date(concert, now() - interval '1 hour', price => 0, price_step => 1000);
  other_concert := tests.concert(starts_in => '1 day', price => 0, price_step => 1000,
                                 title => 'Other concert', venue => 'Other hall');
  other_date := tests.date_of(other_concert);
  ann_token := tests.active_ticket(ann, concert, '7 days');
  bob_token := tests.active_ticket(bob, concert, '7 days');
  cid_token := tests.waiting_ticket(cid, concert);
  ann_other_token := tests.active_ticket(ann, other_concert, '7 days');
  return next;
end
$$;

comment on function tests.seat_world() is
'The world of the seat and concert tests. concert ("Test concert", "Test hall") with dates date1 (now + 1 day)
and date2 (now + 2 days) to come and past_date (now - 1 hour) begun; other_concert ("Other concert",
"Other hall") with other_date (now + 1 day); 50 FREE seats per date, seat n priced 1000 * n. Users ann, bob, cid
(balance 0): ann_token and bob_token ACTIVE on concert for 7 days, cid_token WAITING on concert,
ann_other_token ACTIVE on other_concert for 7 days. One row, for \gset.';

create function tests.payment_world()
returns table (
  ann bigint, bob bigint, concert bigint, date_id bigint,
  ann_token uuid, bob_token uuid, res bigint)
language plpgsql
volatile
set search_path = ''
as $$
begin
  ann := tests.user('ann', 80000);
  bob := tests.user('bob', 80000);
  concert := tests.concert();
  date_id := tests.date_of(concert);
  ann_token := tests.active_ticket(ann, concert);
  bob_token := tests.active_ticket(bob, concert);
  res := tests.held_reservation(ann, date_id, 7);
  return next;
end
$$;

comment on function tests.payment_world() is
'The world of the payment tests. Users ann and bob with 80000 each (and the CHARGE ledger rows); concert with one
date, date_id (now + 30 days), 50 seats at 50000; ann_token and bob_token ACTIVE on it for 10 minutes; ann holds
seat 7 for 5 minutes through reservation res. One row, for \gset.';

create function tests.audit_world()
returns table (
  ann bigint, bob bigint, concert bigint, date_id bigint,
  ann_token uuid, bob_token uuid, res bigint, res9 bigint, pay bigint, pay_entry bigint)
language plpgsql
volatile
set search_path = ''
as $$
begin
  select w.ann, w.bob, w.concert, w.date_id, w.ann_token, w.bob_token, w.res
  into ann, bob, concert, date_id, ann_token, bob_token, res
  from tests.payment_world() w;
  res9 := tests.held_reservation(bob, date_id, 9);
  perform api.balance_charge(ann_token, 1000);
  pay := (api.payment_create(ann_token, res) ->> 'paymentId')::bigint;
  select l.entry_id into pay_entry from app.ledger l where l.payment_id = pay;
  return next;
end
$$;

comment on function tests.audit_world() is
'The world of the audit tests, consistent, written partly through the api: tests.payment_world(), bob holds seat 9
through res9, ann charges 1000 (api.balance_charge) and pays for seat 7 (api.payment_create): payment pay, its
PAYMENT ledger row pay_entry. One row, for \gset. Call tests.audit_baseline() before it.';

-- EXPLAIN helpers: plans as jsonb and checks of them, for sql/tests/explain ----
-- Unlike the functions above these read plans and statistics rather than build rows, and uses_index and
-- no_seq_scan return TAP lines (pgTAP's ok and diag): call them as `select tests.uses_index(...)`, counted in the
-- test's plan like any assertion. Those two run with search_path = public, where pgTAP lives (its functions call
-- one another unqualified); the others with an empty one, so the statements given to tests.plan,
-- tests.generic_plan and tests.analyzed_plan name their schemas, as the api's own statements do.

create function tests.plan(query text)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_plan json;
begin
  execute 'explain (format json) ' || plan.query into v_plan;
  return v_plan::jsonb;
end
$$;

comment on function tests.plan(text) is
'The custom plan of query (EXPLAIN (FORMAT JSON)), as jsonb. The query is planned, not run.';

create function tests.generic_plan(query text, types text, args text)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_plan json;
begin
  execute pg_catalog.format('prepare pg_temp_generic (%s) as %s', generic_plan.types, generic_plan.query);
  set local plan_cache_mode = force_generic_plan;
  execute pg_catalog.format('explain (format json) execute pg_temp_generic (%s)', generic_plan.args) into v_plan;
  reset plan_cache_mode;
  deallocate pg_temp_generic;
  return v_plan::jsonb;
end
$$;

comment on function tests.generic_plan(text, text, text) is
'The generic plan of query, a statement with parameters $1, $2 .. of the types types (''bigint, timestamptz''),
as jsonb: the plan PL/pgSQL settles on after five calls. Prepared as pg_temp_generic and explained with
plan_cache_mode = force_generic_plan for the values args (SQL text, ''42, now()''), then deallocated.';

create function tests.analyzed_plan(query text)
returns jsonb
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_plan json;
begin
  begin
    execute 'explain (analyze, format json) ' || analyzed_plan.query into v_plan;
    raise exception using errcode = 'TX001', message = 'roll back';
  exception when sqlstate 'TX001' then
    null;
  end;
  return v_plan::jsonb;
end
$$;

comment on function tests.analyzed_plan(text) is
'The plan of query run (EXPLAIN (ANALYZE, FORMAT JSON)), with its actual rows and loops, as jsonb. The query runs
in a subtransaction that is rolled back, so a statement that writes leaves nothing behind.';

create function tests.index_names(plan jsonb)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select coalesce(pg_catalog.jsonb_agg(distinct n), '[]')
  from pg_catalog.jsonb_path_query(index_names.plan, 'strict $.**."Index Name"') n
$$;

comment on function tests.index_names(jsonb) is
'The names of the indexes a plan (tests.plan ..) uses, anywhere in it, as a jsonb array of distinct strings.';

create function tests.uses_index(plan jsonb, index_name text, description text)
returns setof text
language plpgsql
volatile
set search_path = public
as $$
begin
  return next public.ok(tests.index_names(uses_index.plan) ? uses_index.index_name, uses_index.description);
  if not tests.index_names(uses_index.plan) ? uses_index.index_name then
    return next public.diag(pg_catalog.jsonb_pretty(uses_index.plan));
  end if;
end
$$;

comment on function tests.uses_index(jsonb, text, text) is
'TAP: ok when the plan uses the index index_name (tests.index_names); when not, the plan follows as a diagnostic.';

create function tests.no_seq_scan(plan jsonb, relation text, description text)
returns setof text
language plpgsql
volatile
set search_path = public
as $$
declare
  v_found boolean := pg_catalog.jsonb_path_exists(no_seq_scan.plan,
    'strict $.** ? (@."Node Type" == "Seq Scan" && @."Relation Name" == $r)',
    pg_catalog.jsonb_build_object('r', no_seq_scan.relation));
begin
  return next public.ok(not v_found, no_seq_scan.description);
  if v_found then
    return next public.diag(pg_catalog.jsonb_pretty(no_seq_scan.plan));
  end if;
end
$$;

comment on function tests.no_seq_scan(jsonb, text, text) is
'TAP: ok when the plan has no Seq Scan node of the table relation (its bare name); when not, the plan follows as a
diagnostic.';

create function tests.rows_read(plan jsonb, relation text)
returns bigint
language sql
immutable
set search_path = ''
as $$
  select coalesce(sum(((n ->> 'Actual Rows')::numeric + coalesce((n ->> 'Rows Removed by Filter')::numeric, 0)
                       + coalesce((n ->> 'Rows Removed by Index Recheck')::numeric, 0))
                      * (n ->> 'Actual Loops')::numeric), 0)::bigint
  from pg_catalog.jsonb_path_query(rows_read.plan, 'strict $.** ? (exists (@."Node Type"))') n
  where n ->> 'Relation Name' = rows_read.relation
    and n ->> 'Node Type' in ('Seq Scan', 'Index Scan', 'Index Only Scan', 'Bitmap Heap Scan')
$$;

comment on function tests.rows_read(jsonb, text) is
'The rows an analyzed plan (tests.analyzed_plan) read from the table relation (its bare name): over its Seq Scan,
Index Scan, Index Only Scan and Bitmap Heap Scan nodes, (rows returned + rows removed by a filter or an index
recheck) x loops.';

create function tests.table_reads(relation text)
returns table (seq_scans bigint, rows_fetched bigint)
language sql
volatile
set search_path = ''
as $$
  select t.seq_scan, t.seq_tup_read + coalesce(t.idx_tup_fetch, 0)
  from pg_catalog.pg_stat_xact_user_tables t where t.schemaname = 'app' and t.relname = table_reads.relation
$$;

comment on function tests.table_reads(text) is
'This transaction''s scans of the table app.<relation> so far (pg_stat_xact_user_tables): seq_scans, its sequential
scans, and rows_fetched, the rows read by them and fetched through its indexes. One row, for \gset before and after
the calls to measure.';

-- Most tests join with a user id alone, as USER_KEYS=optional allows; the
-- tests of the keys themselves set user_keys back to required (tests.setting).
update app.settings set value = 0 where name = 'user_keys';

commit;

-- Queue numbers come from one sequence shared by every concert, so a
-- concert's numbers do not start at 1 and have gaps; tests count places.
create function tests.queue_rank(concert_id bigint, queue_no bigint)
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*) from app.queue_tickets t
  where t.concert_id = queue_rank.concert_id and t.queue_no <= queue_rank.queue_no
$$;

comment on function tests.queue_rank(bigint, bigint) is
'How many tickets the concert has up to queue_no: the place of the ticket with that number (1 for the first).';

create function tests.watermark(concert_id bigint)
returns bigint
language sql
stable
set search_path = ''
as $$
  select tests.queue_rank(q.concert_id, q.admitted_upto) from app.queues q where q.concert_id = watermark.concert_id
$$;

comment on function tests.watermark(bigint) is
'The concert''s watermark counted in tickets: how many of its tickets lie at or below admitted_upto.';

