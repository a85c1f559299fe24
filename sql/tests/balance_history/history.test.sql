-- api.balance_history: the token's user's ledger, newest first, amounts signed, limit 1..100.
begin;
select plan(14);

-- The ledger is the subject: ann's and bob's balances and entries are written by hand, interleaved.
insert into app.users (name, balance) values ('ann', 700) returning user_id as ann \gset
insert into app.users (name, balance) values ('bob', 5) returning user_id as bob \gset
select tests.user('cat') as cat \gset
select tests.concert(price => 300) as concert \gset
select tests.date_of(:concert) as date_id \gset
select tests.sold_seat(:ann, :date_id, 1) as res \gset
insert into app.payments (reservation_id, user_id, concert_id, amount, paid_at)
values (:res, :ann, :concert, 300, now()) returning payment_id as pay \gset
insert into app.ledger (user_id, kind, amount, balance_after, payment_id, created_at) values
  (:ann, 'CHARGE', 1000, 1000, null, '2026-01-01 10:00:00+00'),
  (:bob, 'CHARGE', 5, 5, null, '2026-01-01 10:00:01+00'),
  (:ann, 'PAYMENT', -300, 700, :pay, '2026-01-01 10:00:02+00');
select min(entry_id) as e_charge, max(entry_id) as e_payment from app.ledger where user_id = :ann \gset
select tests.active_ticket(:ann, :concert) as ann_token \gset
select tests.waiting_ticket(:cat, :concert) as cat_token \gset
select tests.ended_ticket(:ann, :concert, 'LEFT') as left_token \gset

set local role boxoffice_api;

select is(api.balance_history(:'ann_token'::uuid),
  jsonb_build_object('entries', jsonb_build_array(
    jsonb_build_object('entryId', :e_payment, 'kind', 'PAYMENT', 'amount', -300, 'balanceAfter', 700, 'at', '2026-01-01T10:00:02Z'),
    jsonb_build_object('entryId', :e_charge, 'kind', 'CHARGE', 'amount', 1000, 'balanceAfter', 1000, 'at', '2026-01-01T10:00:00Z'))),
  'the user''s own entries, newest first, a payment negative');
select is(api.balance_history(:'ann_token'::uuid, 1)->'entries'->0->'entryId', to_jsonb(:e_payment),
  'limit 1 gives the newest entry');
select is(jsonb_array_length(api.balance_history(:'ann_token'::uuid, 1)->'entries'), 1, 'and only that one');
select is(jsonb_array_length(api.balance_history(:'ann_token'::uuid, 100)->'entries'), 2, 'limit 100 is allowed');
select is(jsonb_array_length(api.balance_history(:'ann_token'::uuid, null)->'entries'), 2, 'a null limit means the default');
select is(api.balance_history(:'cat_token'::uuid), '{"entries": []}'::jsonb, 'a user without entries gets an empty list (WAITING token)');
select throws_ok(format('select api.balance_history(%L, 0)', :'ann_token'), 'CR001', NULL, 'limit 0 is refused');
select throws_ok(format('select api.balance_history(%L, 101)', :'ann_token'), 'CR001', NULL, 'limit 101 is refused');
select throws_ok(format('select api.balance_history(%L, -5)', :'ann_token'), 'CR001', NULL, 'a negative limit is refused');
select throws_ok(format('select api.balance_history(%L, 0)', gen_random_uuid()), 'CR001', NULL,
  'the limit is checked before the token');
select throws_ok(format('select api.balance_history(%L)', gen_random_uuid()), 'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.balance_history(%L)', :'left_token'), 'CR302', NULL, 'a given-up token is refused');

-- More entries than the limit: the newest come back.
reset role;
insert into app.ledger (user_id, kind, amount, balance_after, created_at)
select :ann, 'CHARGE', 1, 700 + n, now() from generate_series(1, 60) n;
update app.users set balance = 760 where user_id = :ann;
select jsonb_agg(jsonb_build_object('entryId', entry_id, 'kind', 'CHARGE', 'amount', 1, 'balanceAfter', balance_after,
                                    'at', app.iso(created_at)) order by entry_id desc) as newest3
from (select * from app.ledger where user_id = :ann order by entry_id desc limit 3) l \gset
set local role boxoffice_api;
select is(jsonb_array_length(api.balance_history(:'ann_token'::uuid)->'entries'), 50, 'the default limit is 50');
select is(api.balance_history(:'ann_token'::uuid, 3)->'entries', :'newest3'::jsonb,
  'limit 3 gives the three newest, in entry_id order descending');

select * from finish();
rollback;
