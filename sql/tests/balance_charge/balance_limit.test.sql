-- api.balance_charge: a charge that would pass balance_max is refused with CR203 and changes nothing.
begin;
select plan(12);

select tests.user('ann', 600) as ann \gset
select tests.user('rich', 999999990) as rich \gset
select tests.concert() as concert \gset
select tests.active_ticket(:ann, :concert) as ann_token \gset
select tests.active_ticket(:rich, :concert) as rich_token \gset

select tests.setting('balance_max', 1000);
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

-- The table's hard ceiling (1000000000) holds: balance_max cannot be set above it.
reset role;
select throws_ok($$select api.setting_set('balance_max', '2000000000')$$, 'CR001', NULL,
  'balance_max cannot be set above the table''s hard ceiling');
select tests.setting('balance_max', 1000000000);
set local role boxoffice_api;
select throws_ok(format('select api.balance_charge(%L, 11)', :'rich_token'), 'CR203', NULL,
  'a charge past the table''s hard ceiling is CR203');
select is(api.balance_charge(:'rich_token'::uuid, 10)->'balance', '1000000000'::jsonb,
  'a charge reaching the hard ceiling passes');
reset role;
select is((select count(*) from app.ledger where user_id = :rich), 2::bigint,
  'only the charge that passed wrote a ledger row (after the CHARGE row of the fixture''s opening balance)');

select tests.setting('balance_max', 1000000000);
set local role boxoffice_api;
select throws_ok(format('select api.balance_charge(%L, 1)', :'rich_token'), 'CR203', NULL,
  'the default balance_max is 1000000000');
reset role;
select is((select balance from app.users where user_id = :rich), 1000000000::bigint, 'the balance stays at the ceiling');
select is((select balance from app.users where user_id = :ann), 1000::bigint, 'ann''s balance holds the charge that passed');

select * from finish();
rollback;
