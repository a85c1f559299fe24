-- The statements the routes and jobs run, copied from sql/procedures with
-- every PL/pgSQL variable turned into a parameter ($1, $2, ...), as PL/pgSQL
-- itself prepares them. args names the values: {name} is bench.v's value of
-- that name (set by setup.sql), anything else is a literal expression.
-- The study prepares each statement with these parameter types and runs
--   explain (analyze, buffers, format json) execute q(args)
-- in a subtransaction that is rolled back, so DML leaves nothing behind.
-- Keep in step with sql/procedures: run.sh's auto_explain pass (autoexplain.sql)
-- calls the real functions and shows the plans they produce, as a check.
\set ON_ERROR_STOP on
create table bench.queries (
  ord serial primary key,
  name text not null unique,
  source text not null,
  query text not null,
  types text not null default '',
  args text not null default '');

insert into bench.queries (name, source, types, args, query) values
-- Every route that takes a token: the gate.
('token gate', 'app.ticket_gate (every token route)', 'uuid', '{token_active}', $q$
select * from app.queue_tickets t where t.token = $1
$q$),

-- GET /api/concerts
('concert list', 'api.concert_list', 'timestamptz', '{now}', $q$
select jsonb_build_object('concerts', coalesce(jsonb_agg(jsonb_build_object(
         'concertId', c.concert_id,
         'title', c.title,
         'venue', c.venue,
         'dates', (select count(*)
                   from app.concert_dates d
                   where d.concert_id = c.concert_id
                     and d.starts_at > coalesce($1, now())))
       order by c.concert_id), '[]'::jsonb))
from app.concerts c
$q$),

-- GET /api/concerts/{concertId}/dates
('dates: concert exists', 'api.concert_dates', 'bigint', '1', $q$
select exists (select from app.concerts c where c.concert_id = $1)
$q$),
('dates with availability', 'api.concert_dates (app.date_availability_list, inlined)', 'bigint, timestamptz', '1, {now}', $q$
select coalesce(jsonb_agg(jsonb_build_object(
         'dateId', a.date_id,
         'date', app.date_text(a.starts_at),
         'availableSeats', a.available_seats)
       order by a.starts_at), '[]'::jsonb)
from app.date_availability_list($1, $2) a
$q$),

-- GET /api/concerts/{concertId}/dates/{dateId}/seats
('seats: date check', 'api.seat_list, api.seat_hold', 'bigint, bigint, timestamptz', '{hot_date}, 1, {now}', $q$
select from app.concert_dates d
where d.date_id = $1 and d.concert_id = $2 and d.starts_at > $3
$q$),
('free seats', 'api.seat_list (app.seat_free_list, inlined)', 'bigint, timestamptz', '{hot_date}, {now}', $q$
select coalesce(jsonb_agg(jsonb_build_object('seatNo', f.seat_no, 'price', f.price) order by f.seat_no), '[]'::jsonb)
from app.seat_free_list($1, $2) f
$q$),

-- GET /api/queue/tokens/me (a poll)
('queue position, front', 'api.queue_status (app.ticket_json), 1 000th in line', 'bigint, bigint', '{queue_no_front}, 1', $q$
select greatest(1, $1 - q.admitted_upto - (
         select count(*)
         from app.queue_tickets d
         where d.concert_id = q.concert_id
           and d.queue_no > q.admitted_upto
           and d.queue_no < $1
           and d.activated_at is null
           and d.status <> 'WAITING')),
       case when q.admit_rate > 0.01 then q.admit_rate
            else greatest(app.setting('queue_active_cap', 100), 1)::double precision
                 / greatest(app.setting('active_token_seconds', 600), 1)
       end
from app.queues q
where q.concert_id = $2
$q$),
('queue position, back', 'api.queue_status (app.ticket_json), last in line', 'bigint, bigint', '{queue_no_back}, 1', $q$
select greatest(1, $1 - q.admitted_upto - (
         select count(*)
         from app.queue_tickets d
         where d.concert_id = q.concert_id
           and d.queue_no > q.admitted_upto
           and d.queue_no < $1
           and d.activated_at is null
           and d.status <> 'WAITING')),
       case when q.admit_rate > 0.01 then q.admit_rate
            else greatest(app.setting('queue_active_cap', 100), 1)::double precision
                 / greatest(app.setting('active_token_seconds', 600), 1)
       end
from app.queues q
where q.concert_id = $2
$q$),
('queue poll: still here', 'api.queue_status (app.ticket_seen, at most every 30 s per ticket)',
 'timestamptz, uuid, timestamptz', '{now}, {token_waiting_back}, {now}', $q$
update app.queue_tickets t
set last_seen_at = $1
where t.token = $2
  and t.status in ('WAITING', 'ACTIVE')
  and t.last_seen_at < $3
$q$),

-- POST /api/queue/tokens
('queue join: live ticket', 'api.queue_join', 'bigint, bigint', '{user_active}, 1', $q$
select * from app.queue_tickets t
where t.user_id = $1 and t.concert_id = $2 and t.status in ('WAITING', 'ACTIVE')
$q$),
('queue join: insert', 'api.queue_join', 'bigint, bigint, bigint, timestamptz', '1, 99999999, {new_user}, {now}', $q$
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values ($1, $2, $3, 'WAITING', $4, $4)
returning *
$q$),

-- The admission job
('admission: concerts with a line', 'api.queue_admit', '', '', $q$
select q.concert_id from app.queues q where q.admitted_upto < q.next_no - 1 order by q.concert_id
$q$),
('admission: lock queue', 'api.queue_admit', 'bigint', '1', $q$
select * from app.queues q where q.concert_id = $1 for update
$q$),
('admission: ACTIVE count', 'api.queue_admit', 'bigint, bigint, timestamptz', '100, 1, {now}', $q$
select $1 - count(*)
from app.queue_tickets t
where t.concert_id = $2 and t.status = 'ACTIVE' and t.expires_at > $3
$q$),
('admission: claim next 100', 'api.queue_admit',
 'bigint, bigint, bigint, timestamptz, timestamptz, interval', $a$1, {admitted_upto}, 100, {now}::timestamptz - interval '300 s', {now}, interval '600 s'$a$, $q$
with claimed as (
  select t.token, t.last_seen_at <= $4 as idle
  from app.queue_tickets t
  where t.concert_id = $1 and t.queue_no > $2 and t.status = 'WAITING'
  order by t.queue_no
  limit $3
  for update
), changed as (
  update app.queue_tickets t
  set status = case when c.idle then 'EXPIRED' else 'ACTIVE' end,
      activated_at = case when c.idle then null else $5 end,
      expires_at = case when c.idle then null else $5 + $6 end,
      ended_at = case when c.idle then $5 end
  from claimed c
  where t.token = c.token
  returning t.queue_no, t.status = 'ACTIVE' as admitted
)
select count(*), count(*) filter (where ch.admitted), max(ch.queue_no)
from changed ch
$q$),
('admission: watermark', 'api.queue_admit', 'bigint, bigint, bigint', $a$1, {admitted_upto}::bigint + 100, 99999999$a$, $q$
select coalesce(
         (select t.queue_no - 1
          from app.queue_tickets t
          where t.concert_id = $1 and t.queue_no > $2 and t.status = 'WAITING'
          order by t.queue_no
          limit 1),
         $3)
$q$),
('admission: move watermark', 'api.queue_admit', 'bigint, bigint, double precision, bigint, timestamptz',
 '1, {admitted_upto}::bigint + 100, 1.0, 100, {now}', $q$
update app.queues q
set admitted_upto = greatest(q.admitted_upto, $2),
    admit_rate = case when $3 > 0
                      then q.admit_rate + (1 - exp(-$3 / 60)) * ($4 / $3 - q.admit_rate)
                      else q.admit_rate + $4 / 60.0
                 end,
    rate_updated_at = greatest(q.rate_updated_at, $5)
where q.concert_id = $1
$q$),

-- The token expiry job
('token expiry: ACTIVE, old form', 'api.tokens_expire before this study (CTE joined by token)', 'timestamptz, integer', '{now}, 10000', $q$
with due as (
  select t.token
  from app.queue_tickets t
  where t.status = 'ACTIVE' and t.expires_at <= $1
  limit $2
  for update skip locked
)
update app.queue_tickets t
set status = 'EXPIRED', ended_at = $1
from due d
where t.token = d.token
$q$),
('token expiry: WAITING idle, old form', 'api.tokens_expire before this study (CTE joined by token)', 'timestamptz, integer, timestamptz', $a${now}::timestamptz - interval '300 s', 10000, {now}$a$, $q$
with due as (
  select t.token
  from app.queue_tickets t
  where t.status = 'WAITING' and t.last_seen_at <= $1
  limit $2
  for update skip locked
)
update app.queue_tickets t
set status = 'EXPIRED', ended_at = $3
from due d
where t.token = d.token
$q$),

('token expiry: ACTIVE', 'api.tokens_expire', 'timestamptz, integer', '{now}, 10000', $q$
update app.queue_tickets t
set status = 'EXPIRED', ended_at = $1
where t.token = any (array(
  select d.token
  from app.queue_tickets d
  where d.status = 'ACTIVE' and d.expires_at <= $1
  limit $2
  for update skip locked))
$q$),
('token expiry: WAITING idle', 'api.tokens_expire', 'timestamptz, integer, timestamptz', $a${now}::timestamptz - interval '300 s', 10000, {now}$a$, $q$
update app.queue_tickets t
set status = 'EXPIRED', ended_at = $3
where t.token = any (array(
  select d.token
  from app.queue_tickets d
  where d.status = 'WAITING' and d.last_seen_at <= $1
  order by d.last_seen_at
  limit $2
  for update skip locked))
$q$),

-- POST /api/reservations
('seat hold: UPDATE', 'api.seat_hold, a free seat', 'bigint, integer, timestamptz, bigint, timestamptz',
 $a${hot_date}, {free_seat}, {now}, {user_active}, {now}::timestamptz + interval '300 s'$a$, $q$
with old as (
  select s.date_id, s.seat_no, s.reservation_id
  from app.seats s
  where s.date_id = $1 and s.seat_no = $2
    and (s.status = 'FREE' or (s.status = 'HELD' and s.hold_expires_at <= $3))
  for update
)
update app.seats s
set status = 'HELD',
    user_id = $4,
    reservation_id = nextval(pg_catalog.pg_get_serial_sequence('app.reservations', 'reservation_id')),
    hold_expires_at = $5
from old
where s.date_id = old.date_id and s.seat_no = old.seat_no
returning old.reservation_id, s.reservation_id, s.price
$q$),
('seat hold: UPDATE, lapsed hold', 'api.seat_hold, a lapsed hold taken over', 'bigint, integer, timestamptz, bigint, timestamptz',
 $a${lapsed_date}, {lapsed_seat}, {now}, {user_active}, {now}::timestamptz + interval '300 s'$a$, $q$
with old as (
  select s.date_id, s.seat_no, s.reservation_id
  from app.seats s
  where s.date_id = $1 and s.seat_no = $2
    and (s.status = 'FREE' or (s.status = 'HELD' and s.hold_expires_at <= $3))
  for update
)
update app.seats s
set status = 'HELD',
    user_id = $4,
    reservation_id = nextval(pg_catalog.pg_get_serial_sequence('app.reservations', 'reservation_id')),
    hold_expires_at = $5
from old
where s.date_id = old.date_id and s.seat_no = old.seat_no
returning old.reservation_id, s.reservation_id, s.price
$q$),
('seat hold: end lapsed reservation', 'api.seat_hold', 'bigint', '{lapsed_reservation}', $q$
update app.reservations r
set status = 'EXPIRED', ended_at = r.expires_at
where r.reservation_id = $1 and r.status = 'HELD'
$q$),
('seat hold: insert reservation', 'api.seat_hold',
 'bigint, bigint, bigint, bigint, integer, bigint, timestamptz, timestamptz',
 $a${new_reservation_id}, {user_active}, 1, {hot_date}, {free_seat}, 150000, {now}, {now}::timestamptz + interval '300 s'$a$, $q$
insert into app.reservations
  (reservation_id, user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
overriding system value
values ($1, $2, $3, $4, $5, $6, 'HELD', $7, $8)
returning *
$q$),
('seat hold: lost, read seat', 'api.seat_hold', 'bigint, integer', '{held_date}, {held_seat}', $q$
select * from app.seats s where s.date_id = $1 and s.seat_no = $2
$q$),

-- The hold expiry job
('hold expiry', 'api.holds_expire', 'timestamptz', '{now}', $q$
with lapsed as (
  select s.date_id, s.seat_no, s.reservation_id
  from app.seats s
  where s.status = 'HELD' and s.hold_expires_at <= $1
  for update skip locked
),
freed as (
  update app.seats s
  set status = 'FREE', user_id = null, reservation_id = null, hold_expires_at = null
  from lapsed l
  where s.date_id = l.date_id and s.seat_no = l.seat_no
  returning l.reservation_id
),
ended as (
  update app.reservations r
  set status = 'EXPIRED', ended_at = r.expires_at
  from freed f
  where r.reservation_id = f.reservation_id and r.status = 'HELD'
)
select count(*)::integer from freed
$q$),

-- POST /api/payments
('payment: read reservation', 'api.payment_create', 'bigint', '{held_reservation}', $q$
select * from app.reservations r where r.reservation_id = $1
$q$),
('payment: lock seat', 'api.payment_create', 'bigint, smallint', '{held_date}, {held_seat}', $q$
select * from app.seats s where s.date_id = $1 and s.seat_no = $2 for update
$q$),
('payment: lock reservation', 'api.payment_create', 'bigint', '{held_reservation}', $q$
select * from app.reservations r where r.reservation_id = $1 for update
$q$),
('payment: debit', 'api.payment_create', 'bigint, bigint', '{held_price}, {held_user}', $q$
update app.users u
set balance = u.balance - $1
where u.user_id = $2 and u.balance >= $1
returning u.balance
$q$),
('payment: seat SOLD', 'api.payment_create', 'bigint, smallint', '{held_date}, {held_seat}', $q$
update app.seats s
set status = 'SOLD', hold_expires_at = null
where s.date_id = $1 and s.seat_no = $2
$q$),
('payment: reservation PAID', 'api.payment_create', 'timestamptz, bigint', '{now}, {held_reservation}', $q$
update app.reservations r
set status = 'PAID', ended_at = $1
where r.reservation_id = $2
returning *
$q$),
('payment: insert payment', 'api.payment_create', 'bigint, bigint, bigint, bigint, timestamptz',
 '{held_reservation}, {held_user}, 1, {held_price}, {now}', $q$
insert into app.payments (reservation_id, user_id, concert_id, amount, paid_at)
values ($1, $2, $3, $4, $5)
returning *
$q$),
('payment: insert ledger row', 'api.payment_create', 'bigint, bigint, bigint, bigint, timestamptz',
 '{held_user}, {held_price}, 350000, {some_payment}, {now}', $q$
insert into app.ledger (user_id, kind, amount, balance_after, payment_id, created_at)
values ($1, 'PAYMENT', -$2, $3, $4, $5)
$q$),
('payment: insert outbox event', 'api.payment_create', 'bigint, jsonb', $a${held_user}, '{"paymentId": 1}'$a$, $q$
insert into app.outbox (kind, user_id, payload)
values ('payment.completed', $1, $2)
returning event_id
$q$),
('payment: use up token', 'api.payment_create', 'timestamptz, uuid', '{now}, {token_active}', $q$
update app.queue_tickets t
set status = 'USED', ended_at = $1
where t.token = $2
$q$),

-- POST /api/balance/charge, GET /api/balance/history, GET /api/payments
('charge: credit', 'api.balance_charge', 'bigint, bigint, bigint', '50000, {held_user}, 1000000000', $q$
update app.users u
set balance = u.balance + $1
where u.user_id = $2
  and u.balance + $1 <= $3
returning u.balance
$q$),
('charge: insert ledger row', 'api.balance_charge', 'bigint, bigint, bigint, timestamptz', '{held_user}, 50000, 550000, {now}', $q$
insert into app.ledger (user_id, kind, amount, balance_after, created_at)
values ($1, 'CHARGE', $2, $3, $4)
$q$),
('balance history, 10 000 rows', 'api.balance_history, user 1 (10 000 ledger rows), limit 50', 'bigint, integer', '1, 50', $q$
select coalesce(jsonb_agg(jsonb_build_object(
         'entryId', l.entry_id,
         'kind', l.kind,
         'amount', l.amount,
         'balanceAfter', l.balance_after,
         'at', app.iso(l.created_at)) order by l.entry_id desc), '[]'::jsonb)
from (select * from app.ledger l
      where l.user_id = $1
      order by l.entry_id desc
      limit $2) l
$q$),
('balance history, typical', 'api.balance_history, the user with most payments, limit 50', 'bigint, integer', '{payer}, 50', $q$
select coalesce(jsonb_agg(jsonb_build_object(
         'entryId', l.entry_id,
         'kind', l.kind,
         'amount', l.amount,
         'balanceAfter', l.balance_after,
         'at', app.iso(l.created_at)) order by l.entry_id desc), '[]'::jsonb)
from (select * from app.ledger l
      where l.user_id = $1
      order by l.entry_id desc
      limit $2) l
$q$),
('payment list', 'api.payment_list, the user with most payments', 'bigint', '{payer}', $q$
select coalesce(jsonb_agg(app.payment_json(p, r) order by p.payment_id desc), '[]'::jsonb)
from app.payments p
join app.reservations r on r.reservation_id = p.reservation_id
where p.user_id = $1
$q$),

-- The outbox job
('outbox dispatch', 'api.outbox_dispatch (the loop''s query)', 'integer', '500', $q$
select o.event_id, o.payload
from app.outbox o
where o.dispatched_at is null
order by o.event_id
limit $1
for update skip locked
$q$);
