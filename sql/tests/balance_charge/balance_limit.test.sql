-- api.balance_charge: a charge that would pass balance_max is refused with CR203 and changes nothing.
begin;
select plan(11);

insert into app.users (name, balance) values ('ann', 600) returning user_id as ann \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:ann, 'CHARGE', 600, 600, now());
insert into app.users (name, balance) values ('rich', 999999990) returning user_id as rich \gset
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 3, 2);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :rich, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as rich_token \gset

set local boxoffice.balance_max = 1000;
set local role boxoffice_api;

select throws_ok(format('select api.balance_charge(%L, 401)', :'ann_token'), 'CR203', NULL,
  'a charge taking the balance past balance_max is refused');
reset role;
select is((select balance from app.users where user_id = :ann), 600::bigint, 'the balance is unchanged');
select is((select count(*) from app.ledger where user_id = :ann), 1::bigint, 'no ledger row was written');
set local role boxoffice_api;
select is(api.balance_charge(:'ann_token'::uuid, 400)->'balance', '1000'::jsonb,
  'a charge reaching exactly balance_max passes');
select throws_ok(format('select api.balance_charge(%L, 1)', :'ann_token'), 'CR203', NULL,
  'at the ceiling even 1 more is refused');

-- The table's hard ceiling (1000000000) holds whatever balance_max says.
reset role;
set local boxoffice.balance_max = 2000000000;
set local role boxoffice_api;
select throws_ok(format('select api.balance_charge(%L, 11)', :'rich_token'), 'CR203', NULL,
  'a charge past the table''s hard ceiling is CR203 too, even with balance_max set above it');
select is(api.balance_charge(:'rich_token'::uuid, 10)->'balance', '1000000000'::jsonb,
  'a charge reaching the hard ceiling passes');
reset role;
select is((select count(*) from app.ledger where user_id = :rich), 1::bigint, 'only the charge that passed wrote a ledger row');

reset boxoffice.balance_max;
set local role boxoffice_api;
select throws_ok(format('select api.balance_charge(%L, 1)', :'rich_token'), 'CR203', NULL,
  'the default balance_max is 1000000000');
reset role;
select is((select balance from app.users where user_id = :rich), 1000000000::bigint, 'the balance stays at the ceiling');
select is((select balance from app.users where user_id = :ann), 1000::bigint, 'ann''s balance holds the charge that passed');

select * from finish();
rollback;
