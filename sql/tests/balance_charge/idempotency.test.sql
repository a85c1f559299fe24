-- api.balance_charge with an Idempotency-Key: a replay returns the first answer, before any check, and charges once.
begin;
select plan(11);

insert into app.users (name) values ('ann') returning user_id as ann \gset
insert into app.users (name) values ('bob') returning user_id as bob \gset
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 3, 2);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :bob, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as bob_token \gset

set local role boxoffice_api;

select api.balance_charge(:'ann_token'::uuid, 1000, idempotency_key => 'charge-1') as first \gset
select is(:'first'::jsonb, jsonb_build_object('userId', :ann, 'balance', 1000), 'the first call charges');
select is(api.balance_charge(:'ann_token'::uuid, 1000, idempotency_key => 'charge-1'), :'first'::jsonb,
  'a replay returns the same body');
select is(api.balance_charge(:'ann_token'::uuid, 1000, user_id => :ann, idempotency_key => 'charge-1'), :'first'::jsonb,
  'naming the token''s own userId is the same request');
select throws_ok(format('select api.balance_charge(%L, 2000, idempotency_key => %L)', :'ann_token', 'charge-1'),
  'CR204', NULL, 'the same key with another amount is refused');
select is(api.balance_charge(:'bob_token'::uuid, 50, idempotency_key => 'charge-1')->'balance', '50'::jsonb,
  'keys are per user: another user''s same key is a new request');

reset role;
select is((select balance from app.users where user_id = :ann), 1000::bigint, 'the balance was charged once');
select is((select count(*) from app.ledger where user_id = :ann), 1::bigint, 'one ledger row');

-- The token dies; the replay is still answered.
update app.queue_tickets set status = 'EXPIRED', ended_at = now() where token = :'ann_token';
set local role boxoffice_api;
select is(api.balance_charge(:'ann_token'::uuid, 1000, idempotency_key => 'charge-1'), :'first'::jsonb,
  'a replay is answered before the token is checked');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', :'ann_token', 'charge-2'),
  'CR302', NULL, 'a new key with a dead token goes on to the gate');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', :'ann_token', 'bad key'),
  'CR001', NULL, 'a malformed key is refused');
select throws_ok(format('select api.balance_charge(%L, 1000, idempotency_key => %L)', gen_random_uuid(), 'charge-1'),
  'CR301', NULL, 'a key with an unknown token is refused');

select * from finish();
rollback;
