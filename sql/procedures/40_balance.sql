-- The balance: read it, charge it, list its ledger (GET /api/balance,
-- POST /api/balance/charge, GET /api/balance/history).
--
-- Money moves only by one conditional UPDATE of app.users per movement, so the
-- row lock serializes concurrent charges and payments of one user: N charges
-- at once add up to exactly their sum, and each movement's ledger row (written
-- while the lock is held) carries the balance after it, in entry_id order.

create or replace function app.balance_get(token uuid, as_of timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_ticket app.queue_tickets;
  v_balance bigint;
begin
  v_ticket := app.ticket_gate(balance_get.token, null, false, balance_get.as_of);
  select u.balance into v_balance from app.users u where u.user_id = v_ticket.user_id;
  return jsonb_build_object('userId', v_ticket.user_id, 'balance', v_balance);
end
$$;

comment on function app.balance_get(uuid, timestamptz) is
'The rule of api.balance_get with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
The balance of the token''s user (GET /api/balance).
Parameters: token, any live queue token (WAITING or ACTIVE, of any concert); as_of, the clock for tests (default now()).
Result: {"userId", "balance"}.
Errors: CR301 unknown token, CR302 token no longer live.';

revoke execute on function app.balance_get(uuid, timestamptz) from public;

create or replace function api.balance_get(
  token uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return app.balance_get(token => balance_get.token, as_of => now());
end
$$;

comment on function api.balance_get(uuid) is
'The balance of the token''s user (GET /api/balance).
Parameters: token, any live queue token (WAITING or ACTIVE, of any concert).
Result: {"userId", "balance"}.
Errors: CR301 unknown token, CR302 token no longer live.';

revoke execute on function api.balance_get(uuid) from public;
grant execute on function api.balance_get(uuid) to boxoffice_api;


create or replace function app.balance_charge(
  token uuid,
  amount bigint,
  user_id bigint default null,
  idempotency_key text default null,
  as_of timestamptz default null)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_now timestamptz := coalesce(balance_charge.as_of, now());
  v_charge_max bigint := app.setting('charge_max', 1000000);
  v_balance_max bigint := app.setting('balance_max', 1000000000);
  v_user_id bigint;
  v_ticket app.queue_tickets;
  v_stored jsonb;
  v_reused boolean := false;
  v_balance bigint;
  v_constraint text;
  v_body jsonb;
begin
  if balance_charge.amount is null or balance_charge.amount not between 1 and v_charge_max then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'amount must be a whole number from 1 to ' || v_charge_max;
  end if;

  -- A replay is answered before any other check, the token's included.
  if balance_charge.idempotency_key is not null then
    select c.response, c.reused into v_stored, v_reused
    from app.idempotency_claim(balance_charge.token, balance_charge.idempotency_key,
      'balance_charge:' || balance_charge.amount, balance_charge.user_id) c;
    if v_stored is not null then
      return v_stored;
    end if;
  end if;

  v_ticket := app.ticket_gate(balance_charge.token, null, false, balance_charge.as_of);
  perform app.ticket_user_check(v_ticket, balance_charge.user_id);
  v_user_id := v_ticket.user_id;
  perform app.idempotency_reused_check(v_reused);

  -- One atomic read-and-add under the row lock; BALANCE_MAX may lower the
  -- table's hard ceiling (users_balance_check), which is mapped to CR203 too.
  begin
    update app.users u
    set balance = u.balance + balance_charge.amount
    where u.user_id = v_user_id
      and u.balance + balance_charge.amount <= v_balance_max
    returning u.balance into v_balance;
  exception when check_violation then
    get stacked diagnostics v_constraint = constraint_name;
    if v_constraint is distinct from 'users_balance_check' then
      raise;
    end if;
    v_balance := null;
  end;
  if v_balance is null then
    raise exception using errcode = 'CR203', message = 'balance limit',
      detail = 'a charge of ' || balance_charge.amount || ' would take the balance past '
        || least(v_balance_max, 1000000000);
  end if;

  insert into app.ledger (user_id, kind, amount, balance_after, created_at)
  values (v_user_id, 'CHARGE', balance_charge.amount, v_balance, v_now);

  v_body := jsonb_build_object('userId', v_user_id, 'balance', v_balance);
  perform app.idempotency_finish(v_user_id, balance_charge.idempotency_key, 200, v_body);
  return v_body;
end
$$;

comment on function app.balance_charge(uuid, bigint, bigint, text, timestamptz) is
'The rule of api.balance_charge with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Adds amount to the balance of the token''s user and writes a CHARGE ledger row (POST /api/balance/charge, 200).
Parameters: token, any live queue token; amount, 1 to charge_max (default 1000000);
user_id, optional, must be the token''s user; idempotency_key, optional Idempotency-Key
(a repeat with the same amount returns the first answer, before any other check);
as_of, the clock for tests (default now()).
Concurrent charges are applied exactly once each (one conditional UPDATE under the row lock).
Result: {"userId", "balance"}, the balance after the charge.
Errors: CR001 amount out of range or malformed key, CR301 unknown token, CR302 token no longer live,
CR304 user_id not the token''s user, CR203 the balance would pass balance_max, CR204 key reused with another amount.';

revoke execute on function app.balance_charge(uuid, bigint, bigint, text, timestamptz) from public;

create or replace function api.balance_charge(
  token uuid,
  amount bigint,
  user_id bigint default null,
  idempotency_key text default null)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  return app.balance_charge(token => balance_charge.token, amount => balance_charge.amount, user_id => balance_charge.user_id, idempotency_key => balance_charge.idempotency_key, as_of => now());
end
$$;

comment on function api.balance_charge(uuid, bigint, bigint, text) is
'Adds amount to the balance of the token''s user and writes a CHARGE ledger row (POST /api/balance/charge, 200).
Parameters: token, any live queue token; amount, 1 to charge_max (default 1000000);
user_id, optional, must be the token''s user; idempotency_key, optional Idempotency-Key
(a repeat with the same amount returns the first answer, before any other check).
Concurrent charges are applied exactly once each (one conditional UPDATE under the row lock).
Result: {"userId", "balance"}, the balance after the charge.
Errors: CR001 amount out of range or malformed key, CR301 unknown token, CR302 token no longer live,
CR304 user_id not the token''s user, CR203 the balance would pass balance_max, CR204 key reused with another amount.';

revoke execute on function api.balance_charge(uuid, bigint, bigint, text) from public;
grant execute on function api.balance_charge(uuid, bigint, bigint, text) to boxoffice_api;


create or replace function app.balance_history(
  token uuid,
  max_entries integer default 50,
  as_of timestamptz default null)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
set enable_seqscan = off
set jit = off
as $$
declare
  v_limit integer := coalesce(balance_history.max_entries, 50);
  v_ticket app.queue_tickets;
  v_entries jsonb;
begin
  if v_limit not between 1 and 100 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'limit must be from 1 to 100';
  end if;
  v_ticket := app.ticket_gate(balance_history.token, null, false, balance_history.as_of);

  -- ledger_user_id_entry_id_idx: a backward index scan, stopped by the limit
  select coalesce(jsonb_agg(jsonb_build_object(
           'entryId', l.entry_id,
           'kind', l.kind,
           'amount', l.amount,
           'balanceAfter', l.balance_after,
           'at', app.iso(l.created_at)) order by l.entry_id desc), '[]'::jsonb)
  into v_entries
  from (select * from app.ledger l
        where l.user_id = v_ticket.user_id
        order by l.entry_id desc
        limit v_limit) l;

  return jsonb_build_object('entries', v_entries);
end
$$;

comment on function app.balance_history(uuid, integer, timestamptz) is
'The rule of api.balance_history with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
The newest ledger entries of the token''s user, newest first (GET /api/balance/history?limit=).
Parameters: token, any live queue token; max_entries, 1 to 100 (default 50; null means 50);
as_of, the clock for tests (default now()).
Result: {"entries": [{"entryId", "kind": "CHARGE"|"PAYMENT"|"REFUND", "amount", "balanceAfter", "at"}]};
amount is signed (a payment is negative).
Errors: CR001 max_entries out of range (checked before the token), CR301 unknown token, CR302 token no longer live.';

revoke execute on function app.balance_history(uuid, integer, timestamptz) from public;

create or replace function api.balance_history(
  token uuid,
  max_entries integer default 50)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return app.balance_history(token => balance_history.token, max_entries => balance_history.max_entries, as_of => now());
end
$$;

comment on function api.balance_history(uuid, integer) is
'The newest ledger entries of the token''s user, newest first (GET /api/balance/history?limit=).
Parameters: token, any live queue token; max_entries, 1 to 100 (default 50; null means 50).
Result: {"entries": [{"entryId", "kind": "CHARGE"|"PAYMENT"|"REFUND", "amount", "balanceAfter", "at"}]};
amount is signed (a payment is negative).
Errors: CR001 max_entries out of range (checked before the token), CR301 unknown token, CR302 token no longer live.';

revoke execute on function api.balance_history(uuid, integer) from public;
grant execute on function api.balance_history(uuid, integer) to boxoffice_api;
