-- The state of Box Office. Every table of a concert carries concert_id, so
-- that the schema can later be distributed by concert (see DESIGN.md).

create table app.users (
  user_id    bigint generated always as identity,
  name       text not null,
  balance    bigint not null default 0,
  created_at timestamptz not null default now(),
  constraint users_pkey primary key (user_id),
  constraint users_name_check check (length(btrim(name)) between 1 and 100),
  -- BALANCE_MAX may lower the ceiling in api.balance_charge; this is the hard one.
  constraint users_balance_check check (balance between 0 and 1000000000)
);

create table app.concerts (
  concert_id bigint generated always as identity,
  title      text not null,
  venue      text not null,
  created_at timestamptz not null default now(),
  constraint concerts_pkey primary key (concert_id)
);

create table app.concert_dates (
  date_id    bigint generated always as identity,
  concert_id bigint not null,
  starts_at  timestamptz not null,
  constraint concert_dates_pkey primary key (date_id),
  constraint concert_dates_concert_id_fkey foreign key (concert_id) references app.concerts,
  constraint concert_dates_concert_id_starts_at_key unique (concert_id, starts_at),
  -- target of the composite foreign keys below: a seat's date and concert agree
  constraint concert_dates_date_id_concert_id_key unique (date_id, concert_id)
);

-- One row per seat; status and the hold columns are the truth about who may
-- have the seat. A hold whose hold_expires_at has passed counts as free at
-- once (api.seat_hold takes it over); api.holds_expire tidies it up.
create table app.seats (
  date_id         bigint not null,
  seat_no         smallint not null,
  concert_id      bigint not null,
  price           bigint not null,
  status          text not null default 'FREE',
  user_id         bigint,
  reservation_id  bigint,
  hold_expires_at timestamptz,
  constraint seats_pkey primary key (date_id, seat_no),
  constraint seats_date_id_concert_id_fkey foreign key (date_id, concert_id)
    references app.concert_dates (date_id, concert_id),
  constraint seats_user_id_fkey foreign key (user_id) references app.users,
  constraint seats_seat_no_check check (seat_no between 1 and 50),
  constraint seats_price_check check (price > 0),
  constraint seats_status_check check (status in ('FREE', 'HELD', 'SOLD')),
  constraint seats_holder_check check (
    (status = 'FREE' and user_id is null and reservation_id is null and hold_expires_at is null)
    or (status = 'HELD' and user_id is not null and reservation_id is not null and hold_expires_at is not null)
    or (status = 'SOLD' and user_id is not null and reservation_id is not null))
);

-- The waiting room. queue_no is the ticket's place in its concert's line,
-- handed out by app.queues.next_no; admission goes in queue_no order.
create table app.queues (
  concert_id      bigint not null,
  next_no         bigint not null default 1,
  -- every ticket with queue_no <= admitted_upto has left the line (admitted or gone)
  admitted_upto   bigint not null default 0,
  -- admissions per second, an exponentially weighted average over about a minute
  admit_rate      double precision not null default 0,
  rate_updated_at timestamptz,
  constraint queues_pkey primary key (concert_id),
  constraint queues_concert_id_fkey foreign key (concert_id) references app.concerts
);

create table app.queue_tickets (
  token        uuid not null default gen_random_uuid(),
  concert_id   bigint not null,
  queue_no     bigint not null,
  user_id      bigint not null,
  status       text not null default 'WAITING',
  joined_at    timestamptz not null,
  last_seen_at timestamptz not null,
  activated_at timestamptz,
  expires_at   timestamptz,
  ended_at     timestamptz,
  constraint queue_tickets_pkey primary key (token),
  constraint queue_tickets_concert_id_queue_no_key unique (concert_id, queue_no),
  constraint queue_tickets_concert_id_fkey foreign key (concert_id) references app.queues,
  constraint queue_tickets_user_id_fkey foreign key (user_id) references app.users,
  -- EXPIRED: timed out or idle; LEFT: given up; USED: used up by a payment
  constraint queue_tickets_status_check check (status in ('WAITING', 'ACTIVE', 'EXPIRED', 'LEFT', 'USED')),
  constraint queue_tickets_active_check check ((status = 'ACTIVE') <= (activated_at is not null and expires_at is not null)),
  constraint queue_tickets_ended_check check ((status in ('WAITING', 'ACTIVE')) = (ended_at is null))
);

-- At most one live ticket per user and concert.
create unique index queue_tickets_user_id_concert_id_key
  on app.queue_tickets (user_id, concert_id) where status in ('WAITING', 'ACTIVE');

create table app.reservations (
  reservation_id bigint generated always as identity,
  user_id        bigint not null,
  concert_id     bigint not null,
  date_id        bigint not null,
  seat_no        smallint not null,
  price          bigint not null,
  status         text not null default 'HELD',
  created_at     timestamptz not null,
  expires_at     timestamptz not null,
  ended_at       timestamptz,
  constraint reservations_pkey primary key (reservation_id),
  constraint reservations_user_id_fkey foreign key (user_id) references app.users,
  constraint reservations_date_id_seat_no_fkey foreign key (date_id, seat_no) references app.seats,
  constraint reservations_date_id_concert_id_fkey foreign key (date_id, concert_id)
    references app.concert_dates (date_id, concert_id),
  constraint reservations_status_check check (status in ('HELD', 'PAID', 'CANCELLED', 'EXPIRED'))
);

-- A seat is never held or sold twice: at most one HELD or PAID reservation per seat.
create unique index reservations_date_id_seat_no_key
  on app.reservations (date_id, seat_no) where status in ('HELD', 'PAID');

create table app.payments (
  payment_id     bigint generated always as identity,
  reservation_id bigint not null,
  user_id        bigint not null,
  concert_id     bigint not null,
  amount         bigint not null,
  status         text not null default 'COMPLETED',
  paid_at        timestamptz not null,
  constraint payments_pkey primary key (payment_id),
  constraint payments_reservation_id_key unique (reservation_id),
  constraint payments_reservation_id_fkey foreign key (reservation_id) references app.reservations,
  constraint payments_user_id_fkey foreign key (user_id) references app.users,
  constraint payments_amount_check check (amount > 0),
  constraint payments_status_check check (status in ('COMPLETED'))
);

-- Every movement of money, with the balance after it. amount is signed:
-- a charge or refund is positive, a payment negative.
create table app.ledger (
  entry_id      bigint generated always as identity,
  user_id       bigint not null,
  kind          text not null,
  amount        bigint not null,
  balance_after bigint not null,
  payment_id    bigint,
  created_at    timestamptz not null,
  constraint ledger_pkey primary key (entry_id),
  constraint ledger_user_id_fkey foreign key (user_id) references app.users,
  constraint ledger_payment_id_fkey foreign key (payment_id) references app.payments,
  constraint ledger_kind_check check (kind in ('CHARGE', 'PAYMENT', 'REFUND')),
  constraint ledger_amount_check check (
    (kind in ('CHARGE', 'REFUND') and amount > 0) or (kind = 'PAYMENT' and amount < 0)),
  constraint ledger_balance_after_check check (balance_after >= 0)
);

-- Stored first answers of requests sent with an Idempotency-Key.
create table app.idempotency_keys (
  user_id      bigint not null,
  key          text not null,
  request_hash text not null,
  status       integer,
  response     jsonb,
  created_at   timestamptz not null default now(),
  constraint idempotency_keys_pkey primary key (user_id, key),
  constraint idempotency_keys_user_id_fkey foreign key (user_id) references app.users,
  constraint idempotency_keys_key_check check (length(key) between 1 and 255)
);

create table app.outbox (
  event_id      bigint generated always as identity,
  kind          text not null,
  user_id       bigint,
  payload       jsonb not null,
  created_at    timestamptz not null default now(),
  dispatched_at timestamptz,
  constraint outbox_pkey primary key (event_id)
);

-- The scheduler's jobs and their runs, modelled on pg_cron's cron.job and
-- cron.job_run_details.
create table app.jobs (
  job_id     bigint generated always as identity,
  name       text not null,
  schedule   text not null,
  command    text not null,
  active     boolean not null default true,
  created_at timestamptz not null default now(),
  constraint jobs_pkey primary key (job_id),
  constraint jobs_name_key unique (name)
);

create table app.job_runs (
  run_id      bigint generated always as identity,
  job_id      bigint not null,
  instance    text not null,
  status      text not null,
  started_at  timestamptz not null default clock_timestamp(),
  finished_at timestamptz,
  message     text,
  constraint job_runs_pkey primary key (run_id),
  constraint job_runs_job_id_fkey foreign key (job_id) references app.jobs on delete cascade,
  constraint job_runs_status_check check (status in ('starting', 'running', 'succeeded', 'failed'))
);
