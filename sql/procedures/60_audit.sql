-- The audit: every invariant of money, seats and the waiting room's counters
-- that the tables' constraints cannot state by themselves, checked over the
-- whole database. `boxoffice audit` calls it and exits 1 when it returns any
-- row. It reads everything (full scans and hash joins): run it from the
-- command line or a monitor, not per request.
create or replace function api.audit()
returns table (invariant text, subject text, detail text)
language sql
stable
security definer
set search_path = ''
as $$
  -- Money. Each user's balance is the sum of their ledger (charges and refunds
  -- positive, payments negative).
  select 'user_ledger_sum', 'user ' || u.user_id,
         'balance is ' || u.balance || ' but the ledger sums to ' || coalesce(l.total, 0)
  from app.users u
  left join (select l.user_id, sum(l.amount) as total from app.ledger l group by l.user_id) l
    on l.user_id = u.user_id
  where u.balance <> coalesce(l.total, 0)

  union all
  -- The same over all users at once.
  select 'total_ledger_sum', 'all users',
         'balances sum to ' || b.total || ' but the ledger sums to ' || l.total
  from (select coalesce(sum(u.balance), 0) as total from app.users u) b,
       (select coalesce(sum(l.amount), 0) as total from app.ledger l) l
  where b.total <> l.total

  union all
  -- The newest ledger row of a user carries the balance now.
  select 'user_last_entry', 'user ' || u.user_id,
         'balance is ' || u.balance || ' but ledger entry ' || l.entry_id
           || ' has balance_after ' || l.balance_after
  from app.users u
  join (select distinct on (l.user_id) l.user_id, l.entry_id, l.balance_after
        from app.ledger l order by l.user_id, l.entry_id desc) l
    on l.user_id = u.user_id
  where l.balance_after <> u.balance

  union all
  -- Each ledger row's balance_after is the previous one's plus its amount.
  select 'ledger_running_balance', 'ledger entry ' || l.entry_id,
         'balance_after is ' || l.balance_after || ' but the previous balance '
           || l.previous || ' plus amount ' || l.amount || ' is ' || (l.previous + l.amount)
  from (select l.entry_id, l.amount, l.balance_after,
               lag(l.balance_after, 1, 0::bigint) over (partition by l.user_id order by l.entry_id) as previous
        from app.ledger l) l
  where l.balance_after <> l.previous + l.amount

  union all
  -- A PAYMENT ledger row points at its payment.
  select 'ledger_payment_link', 'ledger entry ' || l.entry_id,
         'a PAYMENT ledger row without a payment'
  from app.ledger l
  where l.kind = 'PAYMENT' and l.payment_id is null

  union all
  -- Each payment has exactly one PAYMENT ledger row, of its user, for minus its amount.
  select 'payment_ledger', 'payment ' || p.payment_id,
         coalesce(l.n, 0) || ' PAYMENT ledger rows summing to ' || coalesce(l.total, 0)
           || coalesce(' (users ' || l.first_user || '..' || l.last_user || ')', '')
           || ' for amount ' || p.amount || ' of user ' || p.user_id
  from app.payments p
  left join (select l.payment_id, count(*) as n, sum(l.amount) as total,
                    min(l.user_id) as first_user, max(l.user_id) as last_user
             from app.ledger l
             where l.kind = 'PAYMENT' and l.payment_id is not null
             group by l.payment_id) l
    on l.payment_id = p.payment_id
  where coalesce(l.n, 0) <> 1 or l.total <> -p.amount
     or l.first_user <> p.user_id or l.last_user <> p.user_id

  union all
  -- A payment's amount is its reservation's price and its seat's price.
  select 'payment_amount', 'payment ' || p.payment_id,
         'amount is ' || p.amount || ' but the reservation price is ' || r.price
           || ' and the seat price is ' || s.price
  from app.payments p
  join app.reservations r on r.reservation_id = p.reservation_id
  join app.seats s on s.date_id = r.date_id and s.seat_no = r.seat_no
  where p.amount <> r.price or p.amount <> s.price

  union all
  -- A payment's reservation is PAID, by the payment's user, on the payment's concert.
  select 'payment_reservation', 'payment ' || p.payment_id,
         'reservation ' || r.reservation_id || ' is ' || r.status || ' of user ' || r.user_id
           || ' on concert ' || r.concert_id
  from app.payments p
  join app.reservations r on r.reservation_id = p.reservation_id
  where r.status <> 'PAID' or r.user_id <> p.user_id or r.concert_id <> p.concert_id

  union all
  -- Seats. A PAID reservation has its payment...
  select 'paid_reservation_payment', 'reservation ' || r.reservation_id,
         'PAID without a payment'
  from app.reservations r
  where r.status = 'PAID'
    and not exists (select from app.payments p where p.reservation_id = r.reservation_id)

  union all
  -- ... and its seat is SOLD through it.
  select 'paid_reservation_seat', 'reservation ' || r.reservation_id,
         'PAID but seat ' || r.seat_no || ' on date ' || r.date_id || ' is ' || s.status
           || coalesce(' through reservation ' || s.reservation_id, '')
  from app.reservations r
  join app.seats s on s.date_id = r.date_id and s.seat_no = r.seat_no
  where r.status = 'PAID'
    and (s.status <> 'SOLD' or s.reservation_id is distinct from r.reservation_id)

  union all
  -- A SOLD seat has exactly one payment: its reservation's, and none of any
  -- other reservation of the seat.
  select 'sold_seat_payment', 'seat ' || s.date_id || '/' || s.seat_no,
         'SOLD through reservation ' || s.reservation_id || ', which has '
           || (case when p.payment_id is null then 'no' else 'a' end)
           || ' payment; the seat has ' || coalesce(n.n, 0) || ' payments in all'
  from app.seats s
  left join app.payments p on p.reservation_id = s.reservation_id
  left join (select r.date_id, r.seat_no, count(*) as n
             from app.payments p join app.reservations r on r.reservation_id = p.reservation_id
             group by r.date_id, r.seat_no) n
    on n.date_id = s.date_id and n.seat_no = s.seat_no
  where s.status = 'SOLD' and (p.payment_id is null or coalesce(n.n, 0) <> 1)

  union all
  -- A SOLD seat's reservation is PAID, by the seat's user, for this seat.
  select 'sold_seat_reservation', 'seat ' || s.date_id || '/' || s.seat_no,
         'SOLD to user ' || s.user_id || ' through reservation ' || s.reservation_id
           || coalesce(', which is ' || r.status || ' of user ' || r.user_id
                       || ' for seat ' || r.date_id || '/' || r.seat_no, ', which does not exist')
  from app.seats s
  left join app.reservations r on r.reservation_id = s.reservation_id
  where s.status = 'SOLD'
    and (r.reservation_id is null or r.status <> 'PAID' or r.user_id <> s.user_id
         or r.date_id <> s.date_id or r.seat_no <> s.seat_no)

  union all
  -- A HELD seat's reservation is HELD, by the seat's user, for this seat.
  select 'seat_hold_reservation', 'seat ' || s.date_id || '/' || s.seat_no,
         'HELD by user ' || s.user_id || ' through reservation ' || s.reservation_id
           || coalesce(', which is ' || r.status || ' of user ' || r.user_id
                       || ' for seat ' || r.date_id || '/' || r.seat_no, ', which does not exist')
  from app.seats s
  left join app.reservations r on r.reservation_id = s.reservation_id
  where s.status = 'HELD'
    and (r.reservation_id is null or r.status <> 'HELD' or r.user_id <> s.user_id
         or r.date_id <> s.date_id or r.seat_no <> s.seat_no)

  union all
  -- A HELD reservation whose hold has not lapsed holds its seat.
  select 'reservation_hold_seat', 'reservation ' || r.reservation_id,
         'HELD until ' || app.iso(r.expires_at) || ' but seat ' || r.seat_no || ' on date ' || r.date_id
           || ' is ' || s.status || coalesce(' through reservation ' || s.reservation_id, '')
  from app.reservations r
  join app.seats s on s.date_id = r.date_id and s.seat_no = r.seat_no
  where r.status = 'HELD' and r.expires_at > now()
    and (s.status <> 'HELD' or s.reservation_id is distinct from r.reservation_id)

  union all
  -- At most one live claim per seat: a HELD reservation whose hold has not
  -- lapsed, or a PAID one (the partial unique index says so for HELD and PAID;
  -- this catches it should the index ever be missing).
  select 'seat_live_reservations', 'seat ' || r.date_id || '/' || r.seat_no,
         count(*) || ' live reservations: ' || string_agg(r.reservation_id::text, ', ' order by r.reservation_id)
  from app.reservations r
  where r.status = 'PAID' or (r.status = 'HELD' and r.expires_at > now())
  group by r.date_id, r.seat_no
  having count(*) > 1

  union all
  -- The waiting room. Each departure counter a position may read (app.queue_blocks,
  -- the spans past the one that holds the concert's watermark) equals a
  -- recount of the tickets there that left the line without being admitted.
  select 'queue_block_departed',
         'concert ' || x.concert_id || ' queue numbers ' || x.block_no * x.block_size
           || '..' || (x.block_no + 1) * x.block_size - 1,
         'counted ' || coalesce(x.counted, 0) || ' departures but ' || coalesce(x.actual, 0)
           || ' tickets there left the line without being admitted'
  from (select coalesce(k.concert_id, r.concert_id) as concert_id,
               coalesce(k.block_size, r.block_size) as block_size,
               coalesce(k.block_no, r.block_no) as block_no,
               k.departed as counted, r.departed as actual
        from (select b.concert_id, b.block_size, b.block_no, b.departed
              from app.queue_blocks b
              join app.queues q on q.concert_id = b.concert_id
              where b.block_no > q.admitted_upto / b.block_size) k
        full join (select t.concert_id, s.block_size, t.queue_no / s.block_size as block_no, count(*) as departed
                   from app.queue_tickets t
                   join app.queues q on q.concert_id = t.concert_id
                   -- the sizes of queue_blocks_block_size_check
                   cross join (values (1024), (32768)) s(block_size)
                   where t.activated_at is null and t.status <> 'WAITING'
                     and t.queue_no / s.block_size > q.admitted_upto / s.block_size
                   group by t.concert_id, s.block_size, t.queue_no / s.block_size) r
          on r.concert_id = k.concert_id and r.block_size = k.block_size and r.block_no = k.block_no) x
  where x.counted is distinct from x.actual

  union all
  -- Each arrival counter a position may read (app.queue_arrivals, the blocks
  -- past the one that holds the watermark and wholly below counted_below)
  -- equals a recount of the tickets there, whatever their status.
  select 'queue_block_arrived',
         'concert ' || x.concert_id || ' queue numbers ' || x.block_no * x.block_size
           || '..' || (x.block_no + 1) * x.block_size - 1,
         'counted ' || coalesce(x.counted, 0) || ' arrivals but ' || coalesce(x.actual, 0) || ' tickets are there'
  from (select coalesce(k.concert_id, r.concert_id) as concert_id,
               coalesce(k.block_size, r.block_size) as block_size,
               coalesce(k.block_no, r.block_no) as block_no,
               k.arrived as counted, r.arrived as actual
        from (select a.concert_id, a.block_size, a.block_no, a.arrived
              from app.queue_arrivals a
              join app.queues q on q.concert_id = a.concert_id
              left join app.queue_counted n on n.concert_id = q.concert_id
              where a.block_no > q.admitted_upto / a.block_size
                and (a.block_no + 1) * a.block_size <= coalesce(n.counted_below, 0)) k
        full join (select t.concert_id, s.block_size, t.queue_no / s.block_size as block_no, count(*) as arrived
                   from app.queue_tickets t
                   join app.queues q on q.concert_id = t.concert_id
                   left join app.queue_counted n on n.concert_id = q.concert_id
                   -- the sizes of queue_arrivals_block_size_check
                   cross join (values (32), (1024), (32768)) s(block_size)
                   where t.queue_no / s.block_size > q.admitted_upto / s.block_size
                     and (t.queue_no / s.block_size + 1) * s.block_size <= coalesce(n.counted_below, 0)
                   group by t.concert_id, s.block_size, t.queue_no / s.block_size) r
          on r.concert_id = k.concert_id and r.block_size = k.block_size and r.block_no = k.block_no) x
  where x.counted is distinct from x.actual

  union all
  -- The watermark: every ticket at or below it has left the line, nobody
  -- above it was ever admitted (arrival order), and it lies in the closed part.
  select 'queue_watermark', 'ticket ' || t.token,
         t.status || case when t.activated_at is not null then ' (admitted)' else '' end
           || ' with queue number ' || t.queue_no || ' but the watermark of concert ' || q.concert_id
           || ' is ' || q.admitted_upto
  from app.queue_tickets t
  join app.queues q on q.concert_id = t.concert_id
  where (t.status = 'WAITING' and t.queue_no <= q.admitted_upto)
     or (t.activated_at is not null and t.queue_no > q.admitted_upto)

  union all
  select 'queue_closed', 'concert ' || q.concert_id,
         'watermark ' || q.admitted_upto || ', arrivals counted below ' || coalesce(n.counted_below, 0)
           || ', but the line is closed below ' || l.closed_below
  from app.queues q
  left join app.queue_counted n on n.concert_id = q.concert_id
  cross join app.queue_line l
  where q.admitted_upto >= l.closed_below or coalesce(n.counted_below, 0) > l.closed_below

  union all
  -- The ticket's concert has its queue row (no foreign key: see 0005).
  select 'queue_ticket_queue', 'ticket ' || t.token, 'concert ' || t.concert_id || ' has no queue row'
  from app.queue_tickets t
  where not exists (select from app.queues q where q.concert_id = t.concert_id)
$$;

comment on function api.audit() is
'Checks the invariants of money, seats and the waiting room''s counters over the whole database (boxoffice audit).
Result: one row (invariant, subject, detail) per broken invariant, none when all hold. Invariants:
user_ledger_sum (a user''s balance = the sum of their ledger), total_ledger_sum (the same over all users),
user_last_entry (the newest ledger row''s balance_after = the balance),
ledger_running_balance (balance_after = the previous row''s balance_after + amount),
ledger_payment_link (a PAYMENT row has its payment), payment_ledger (a payment has exactly one PAYMENT row, of minus its amount),
payment_amount (= the reservation''s and the seat''s price), payment_reservation (its reservation is PAID, same user and concert),
paid_reservation_payment (a PAID reservation has a payment), paid_reservation_seat (and its seat is SOLD through it),
sold_seat_payment (a SOLD seat has exactly one payment, its reservation''s), sold_seat_reservation (a SOLD seat''s reservation is PAID by its user),
seat_hold_reservation (a HELD seat''s reservation is HELD by its user), reservation_hold_seat (an unlapsed HELD reservation holds its seat),
seat_live_reservations (at most one unlapsed HELD or PAID reservation per seat),
queue_block_departed (a departure counter past its concert''s watermark = a recount of its tickets; api.queue_blocks_rebuild repairs one),
queue_block_arrived (the same for the arrival counters below counted_below), queue_watermark (no WAITING ticket at
or below the watermark, no admitted one above it), queue_closed (the watermark and the counters lie in the closed
part of the line), queue_ticket_queue (a ticket''s concert has its queue row).
Errors: none.';

revoke execute on function api.audit() from public;
grant execute on function api.audit() to boxoffice_api;
