-- Data for the EXPLAIN study: :seats seats (seats / 5000 concerts x 100 dates x
-- 50 seats, as `boxoffice seed --scale` lays them out) and the state around
-- them that a running service would have. Run by run.sh with
--   psql -v seats=N -f setup.sql DB
-- on a database made by scripts/dev-sql. Everything is set-based and seeded
-- (setseed), relative to one fixed clock t0 kept in bench.v('now'); every
-- query of the study runs at as_of = t0.
--
-- What is loaded, for N seats:
--   users           N + 1 000 (balance 500 000)
--   seats           20 % SOLD (PAID reservation, payment, ledger PAYMENT row and
--                   outbox event each), 2 % HELD, 0.01 % HELD with a lapsed hold
--                   (what api.holds_expire finds between two runs), the rest FREE
--   reservations    also 5 % EXPIRED and 1 % CANCELLED ones on free seats
--   ledger          a CHARGE per paying user, a PAYMENT per payment, and 10 000
--                   CHARGE rows of user 1 (the long balance history)
--   outbox          one event per payment, the newest 200 not yet dispatched
--   queue_tickets   concert 1 is on sale: N / 10 tickets already through the line
--                   (USED, EXPIRED after admission, a few LEFT), the ACTIVE set of
--                   100 (10 of them past expires_at), then N tickets in line: 98 %
--                   WAITING (0.05 % of them idle, not polled for 10 minutes), 1.5 %
--                   LEFT and 0.5 % EXPIRED while waiting (the departures the position
--                   counts); concert 2 has a line of 1 000 WAITING tickets.
\set ON_ERROR_STOP on
\set QUIET on
set client_min_messages = warning;

create schema bench;
create table bench.v (name text primary key, value text not null);
insert into bench.v values ('now', date_trunc('second', now())::text), ('seats', :'seats');
create function bench.t0() returns timestamptz language sql stable as $$
  select value::timestamptz from bench.v where name = 'now'
$$;

-- Concerts, dates, seats: in batches of 10 concerts, as the CLI does.
do $$
declare
  v_concerts integer := (select value::integer / 5000 from bench.v where name = 'seats');
  v_done integer := 0;
begin
  while v_done < v_concerts loop
    perform app.seed_scale(least(10, v_concerts - v_done), 100, bench.t0());
    v_done := v_done + least(10, v_concerts - v_done);
  end loop;
end
$$;

insert into app.users (name, balance)
select 'user ' || g, 500000 from generate_series(1, :seats + 1000) g;

-- Which seats are taken, and by whom.
select setseed(0.42);
create table bench.pick as
select s.date_id, s.seat_no, s.concert_id, s.price,
       case when s.r < 0.20 then 'PAID'
            when s.r < 0.22 then 'HELD'
            when s.r < 0.2201 then 'LAPSED'
            when s.r < 0.27 then 'EXPIRED'
            when s.r < 0.28 then 'CANCELLED' end as kind,
       1 + floor(random() * :seats)::bigint as user_id
from (select s.*, random() as r from app.seats s order by s.date_id, s.seat_no) s;
delete from bench.pick where kind is null;

insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at, ended_at)
select p.user_id, p.concert_id, p.date_id, p.seat_no, p.price,
       case when p.kind = 'LAPSED' then 'HELD' else p.kind end,
       bench.t0() + x.created,
       bench.t0() + x.created + interval '5 minutes',
       case p.kind when 'PAID' then bench.t0() + x.created + interval '2 minutes'
                   when 'EXPIRED' then bench.t0() + x.created + interval '5 minutes'
                   when 'CANCELLED' then bench.t0() + x.created + interval '1 minute' end
from bench.pick p
cross join lateral (select case p.kind when 'HELD' then interval '-1 minute'
                                       when 'LAPSED' then interval '-6 minutes'
                                       else interval '-2 hours' end as created) x
order by p.date_id, p.seat_no;

update app.seats s
set status = case when r.status = 'PAID' then 'SOLD' else 'HELD' end,
    user_id = r.user_id,
    reservation_id = r.reservation_id,
    hold_expires_at = case when r.status = 'HELD' then r.expires_at end
from app.reservations r
where r.live and r.status in ('HELD', 'PAID') and s.date_id = r.date_id and s.seat_no = r.seat_no;

insert into app.payments (reservation_id, user_id, concert_id, amount, paid_at)
select r.reservation_id, r.user_id, r.concert_id, r.price, r.ended_at
from app.reservations r where r.status = 'PAID' order by r.ended_at, r.reservation_id;

insert into app.ledger (user_id, kind, amount, balance_after, created_at)
select p.user_id, 'CHARGE', 1000000, 1000000, bench.t0() - interval '1 day'
from (select distinct p.user_id from app.payments p) p order by p.user_id;
insert into app.ledger (user_id, kind, amount, balance_after, payment_id, created_at)
select p.user_id, 'PAYMENT', -p.amount, 500000, p.payment_id, p.paid_at
from app.payments p order by p.payment_id;
insert into app.ledger (user_id, kind, amount, balance_after, created_at)
select 1, 'CHARGE', 1, g, bench.t0() - interval '1 hour' + g * interval '1 ms'
from generate_series(1, 10000) g;

insert into app.outbox (kind, user_id, payload, created_at, dispatched_at)
select 'payment.completed', p.user_id, jsonb_build_object('paymentId', p.payment_id, 'amount', p.amount),
       p.paid_at, case when p.payment_id <= m.m - 200 then p.paid_at end
from app.payments p, (select max(payment_id) as m from app.payments) m
order by p.payment_id;

-- The line of concert 1: history, the ACTIVE set, the tickets in line.
\set history (:seats / 10)
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at, ended_at)
select 1, g, 1 + (g * 7919) % :seats,
       x.status, bench.t0() - interval '3 hours', bench.t0() - interval '2 hours',
       case when x.status <> 'LEFT' then bench.t0() - interval '2 hours' end,
       case when x.status <> 'LEFT' then bench.t0() - interval '1 hour 50 minutes' end,
       bench.t0() - interval '1 hour 50 minutes'
from generate_series(1, :history) g
cross join lateral (select case when g % 20 = 0 then 'LEFT' when g % 3 = 0 then 'EXPIRED' else 'USED' end as status) x;

insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
select 1, :history + g, g, 'ACTIVE', bench.t0() - interval '1 hour', bench.t0() - interval '10 seconds',
       bench.t0() - interval '9 minutes',
       case when g <= 10 then bench.t0() - interval '10 seconds' else bench.t0() + interval '1 minute' end
from generate_series(1, 100) g;

insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, ended_at)
select 1, :history + 100 + g, 100 + g, x.status,
       bench.t0() - interval '50 minutes',
       case when g % 2000 = 1000 then bench.t0() - interval '10 minutes'
            else bench.t0() - (g % 30) * interval '1 second' end,
       case when x.status <> 'WAITING' then bench.t0() - interval '20 minutes' end
from generate_series(1, :seats) g
cross join lateral (select case when g % 200 in (7, 77, 177) then 'LEFT'
                                when g % 200 = 99 then 'EXPIRED'
                                else 'WAITING' end as status) x;

update app.queues set next_no = :history + 100 + :seats + 1, admitted_upto = :history + 100,
  admit_rate = 0.17, rate_updated_at = bench.t0() - interval '1 second'
where concert_id = 1;

insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
select 2, g, g, 'WAITING', bench.t0() - interval '5 minutes', bench.t0() - interval '5 seconds'
from generate_series(1, 1000) g;
update app.queues set next_no = 1001 where concert_id = 2;

-- The parameters of the study's queries.
insert into bench.v values
  ('hot_date', (select min(d.date_id) from app.concert_dates d where d.concert_id = 1)::text),
  ('token_active', (select t.token from app.queue_tickets t
     where t.concert_id = 1 and t.status = 'ACTIVE' and t.expires_at > bench.t0() order by t.queue_no limit 1)::text),
  ('queue_no_front', (:history + 100 + 1000)::text),
  ('queue_no_back', (select max(t.queue_no) from app.queue_tickets t where t.concert_id = 1 and t.status = 'WAITING')::text),
  ('admitted_upto', (:history + 100)::text),
  ('held_reservation', (select min(r.reservation_id) from app.reservations r
     where r.status = 'HELD' and r.expires_at > bench.t0())::text),
  ('lapsed_reservation', (select min(r.reservation_id) from app.reservations r
     where r.status = 'HELD' and r.expires_at <= bench.t0())::text),
  ('payer', (select p.user_id from app.payments p group by p.user_id order by count(*) desc, p.user_id limit 1)::text),
  ('some_payment', (select max(p.payment_id) from app.payments p)::text),
  ('new_reservation_id', (select max(r.reservation_id) + 1000 from app.reservations r)::text),
  ('new_user', (:seats + 999)::text),
  ('token_user1', (select t.token from app.queue_tickets t where t.concert_id = 2 and t.user_id = 1)::text);
insert into bench.v values
  ('free_seat', (select min(s.seat_no) from app.seats s
     where s.date_id = (select value::bigint from bench.v where name = 'hot_date') and s.status = 'FREE')::text),
  ('user_active', (select t.user_id from app.queue_tickets t where t.token = (select value::uuid from bench.v where name = 'token_active'))::text),
  ('token_waiting_back', (select t.token from app.queue_tickets t
     where t.concert_id = 1 and t.queue_no = (select value::bigint from bench.v where name = 'queue_no_back'))::text),
  ('token_waiting_front', (select t.token from app.queue_tickets t
     where t.concert_id = 1 and t.queue_no >= (select value::bigint from bench.v where name = 'queue_no_front')
       and t.status = 'WAITING' and t.last_seen_at > bench.t0() - interval '1 minute' order by t.queue_no limit 1)::text);
insert into bench.v
select k || '_' || f, v
from (values ('held', (select value::bigint from bench.v where name = 'held_reservation')),
             ('lapsed', (select value::bigint from bench.v where name = 'lapsed_reservation'))) h (k, id)
join app.reservations r on r.reservation_id = h.id
cross join lateral (values ('date', r.date_id::text), ('seat', r.seat_no::text), ('user', r.user_id::text),
                           ('price', r.price::text)) x (f, v);

vacuum analyze;
select format('%s seats (%s sold, %s held), %s reservations, %s payments, %s ledger rows, %s tickets (%s waiting), %s users',
  (select count(*) from app.seats), (select count(*) from app.seats where status = 'SOLD'),
  (select count(*) from app.seats where status = 'HELD'), (select count(*) from app.reservations),
  (select count(*) from app.payments), (select count(*) from app.ledger),
  (select count(*) from app.queue_tickets), (select count(*) from app.queue_tickets where status = 'WAITING'),
  (select count(*) from app.users)) as loaded;
