-- api.payment_create: a balance below the price is CR401 and nothing changes; exactly the price is enough.
begin;
select plan(7);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
-- ann's balance, and the CHARGE row that explains it, 1 below the price.
update app.users set balance = 49999 where user_id = :ann;
update app.ledger set amount = 49999, balance_after = 49999 where user_id = :ann;
select tests.payment_state(:ann, :res, :'ann_token') as before \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_token', :res), 'CR401', NULL,
  'a balance 1 below the price is refused');
reset role;
select is(tests.payment_state(:ann, :res, :'ann_token'), :'before',
  'nothing changed: balance, seat, reservation, payments, ledger, outbox, token');

-- Both a short balance and a lapsed hold: the API's order of errors puts 402 before 410.
-- (as the owner: app.payment_create takes the clock)
select throws_ok(format('select app.payment_create(%L, %s, at => %L)', :'ann_token', :res, now() + interval '6 minutes'),
  'CR401', NULL, 'a short balance wins over a lapsed hold (402 before 410)');
reset role;
select is(tests.payment_state(:ann, :res, :'ann_token'), :'before', 'nothing changed');

update app.users set balance = 50000 where user_id = :ann;
update app.ledger set amount = 50000, balance_after = 50000 where user_id = :ann;
set local role boxoffice_api;
select is(api.payment_create(:'ann_token'::uuid, :res)->>'status', 'COMPLETED', 'a balance of exactly the price pays');
reset role;
select is((select balance from app.users where user_id = :ann), 0::bigint, 'leaving 0');
select is((select balance_after from app.ledger where user_id = :ann order by entry_id desc limit 1), 0::bigint,
  'and the ledger says so');

select * from finish();
rollback;
