-- pgbench ceilings for scripts/bench: the same api functions the HTTP routes
-- call, prepared here so that every pgbench transaction is one call of one
-- function (plus an index lookup of its arguments in a small bench table).
-- Everything is made through the api functions themselves (joins, admission,
-- charges, holds), as the owner, with the policy set as the server sets it.
--
-- psql variables (scripts/bench passes them):
--   join_concert   the line the queue_join script joins (new users each)
--   poll_concert   the line whose tickets queue_status polls
--   list_first, list_last   concerts for balance_charge, concert_dates, seat_list
--   hold_first, hold_last   concerts whose seats seat_hold takes one by one
--   pay_first, pay_last     concerts whose seats are held for payment_create
--   join_users     users made for queue_join (one join each)
--   poll_tokens    tickets in the poll line
--   pay_count      holds prepared for payment_create
--   clients        the most pgbench clients any script runs with
\set ON_ERROR_STOP on
set client_min_messages = warning;
\o /dev/null
-- The policy is the database's (app.settings): the bench's, until the next serve or migrate
-- writes its environment's; joins name their user (as USER_KEYS=optional allows).
select api.setting_set('user_keys', 'optional');
select api.setting_set('queue_active_cap', '1000000');
select api.setting_set('hold_seconds', '3600');
select api.setting_set('active_token_seconds', '3600');

drop schema if exists bench cascade;
create schema bench;

-- queue_join: consecutive new user ids handed out by a sequence.
create table bench.join_users as
with u as (insert into app.users (name) select 'pgb-join-' || g from generate_series(1, :join_users) g returning user_id)
select min(user_id) as first_id, max(user_id) as last_id from u;
select format('create sequence bench.join_seq minvalue %s start %s maxvalue %s', first_id, first_id, last_id)
from bench.join_users \gexec

-- One user per pgbench client, admitted to every concert the scripts use.
create table bench.clients (client integer primary key, user_id bigint not null);
insert into bench.clients
select g - 1, (api.user_create('pgb-client-' || g)->>'userId')::bigint from generate_series(1, :clients) g;
create table bench.tokens (client integer, concert_id bigint, token uuid not null, primary key (client, concert_id));
insert into bench.tokens
select c.client, k.concert_id, (q.body->>'token')::uuid
from bench.clients c
cross join (select generate_series(:list_first, :list_last) as concert_id
            union all select generate_series(:hold_first, :hold_last)) k,
lateral api.queue_join(c.user_id, k.concert_id) q;
select api.queue_admit();
select api.balance_charge(t.token, 1000000) from bench.tokens t where t.concert_id = :list_first;

-- balance_charge, concert_dates, seat_list: the client's token on its list
-- concert, and that concert's dates numbered 1..100.
create table bench.list_tokens as
select c.client, t.concert_id, t.token
from bench.clients c
join bench.tokens t on t.client = c.client
  and t.concert_id = :list_first + c.client % (:list_last - :list_first + 1);
alter table bench.list_tokens add primary key (client);
create table bench.list_dates as
select d.concert_id, row_number() over (partition by d.concert_id order by d.starts_at)::integer as k, d.date_id
from app.concert_dates d where d.concert_id between :list_first and :list_last;
alter table bench.list_dates add primary key (concert_id, k);

-- seat_hold on distinct seats: every seat of the hold concerts but the last
-- date's, in a random order, handed out by a sequence; seat_hold on one seat:
-- seat 1 of the last date of hold_first, which nobody else asks for.
create table bench.hold_seats as
select row_number() over (order by random())::integer as n, s.concert_id, s.date_id, s.seat_no::integer as seat_no
from app.seats s
where s.concert_id between :hold_first and :hold_last and s.status = 'FREE'
  and s.date_id <> (select max(d.date_id) from app.concert_dates d where d.concert_id = :hold_first);
alter table bench.hold_seats add primary key (n);
create sequence bench.hold_seq;
create table bench.contested as
select :hold_first::bigint as concert_id, max(d.date_id) as date_id, 1 as seat_no
from app.concert_dates d where d.concert_id = :hold_first;

-- The 409 of a taken seat is an error in SQL; pgbench would stop a client on
-- it, so the contested script calls seat_hold through this catch (its
-- BEGIN ... EXCEPTION block costs a subtransaction per call).
create function bench.seat_hold_status(token uuid, concert_id bigint, date_id bigint, seat_no integer)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  return (select h.status from api.seat_hold(seat_hold_status.token, seat_hold_status.concert_id,
                                             seat_hold_status.date_id, seat_hold_status.seat_no) h);
exception when sqlstate 'CR201' then
  return 409;
end
$$;

-- payment_create: pay_count purchases ready to pay, one user each (a payment
-- uses up its token): joined, admitted, charged, holding a distinct seat.
create table bench.pay_holds (n integer primary key, token uuid not null, reservation_id bigint not null);
create temporary table pay_prep as
with s as (
  select row_number() over (order by s.date_id, s.seat_no)::integer as n, s.concert_id, s.date_id, s.seat_no::integer as seat_no
  from app.seats s where s.concert_id between :pay_first and :pay_last and s.status = 'FREE'
  order by s.date_id, s.seat_no limit :pay_count
), u as (
  select s.*, (api.user_create('pgb-pay-' || s.n)->>'userId')::bigint as user_id from s
)
select u.*, (q.body->>'token')::uuid as token
from u, lateral api.queue_join(u.user_id, u.concert_id) q;
select api.queue_admit();
select count(api.balance_charge(p.token, 200000)) from pay_prep p;
insert into bench.pay_holds
select p.n, p.token, (h.body->>'reservationId')::bigint
from pay_prep p, lateral api.seat_hold(p.token, p.concert_id, p.date_id, p.seat_no) h;
create sequence bench.pay_seq;

-- queue_status: a line of poll_tokens WAITING tickets (the first 100 admitted,
-- as the server's default cap would), polled at random. Made last, so that
-- this admission at cap 100 is the only one the line sees.
create table bench.poll_tokens (n integer primary key, token uuid not null);
with u as (
  insert into app.users (name) select 'pgb-poll-' || g from generate_series(1, :poll_tokens) g returning user_id
), j as (
  select row_number() over (order by u.user_id)::integer as n, q.body->>'token' as token
  from u, lateral api.queue_join(u.user_id, :poll_concert) q
)
insert into bench.poll_tokens select n, token::uuid from j;
select api.setting_set('queue_active_cap', '100');
select api.queue_admit();
select api.setting_set('queue_active_cap', '1000000');

-- The server's role runs the scripts, as the server would.
grant usage on schema bench to boxoffice_api;
grant select on all tables in schema bench to boxoffice_api;
grant usage on all sequences in schema bench to boxoffice_api;
grant execute on function bench.seat_hold_status(uuid, bigint, bigint, integer) to boxoffice_api;
analyze;
\o
select 'join users ' || (select last_id - first_id + 1 from bench.join_users)
  || ', poll tickets ' || (select count(*) from bench.poll_tokens)
  || ', hold seats ' || (select count(*) from bench.hold_seats)
  || ', payments ready ' || (select count(*) from bench.pay_holds) as prepared;
