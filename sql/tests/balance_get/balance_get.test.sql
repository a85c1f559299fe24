-- api.balance_get: the token's user's balance, for any live token.
begin;
select plan(6);

insert into app.users (name, balance) values ('ann', 1234) returning user_id as ann \gset
insert into app.users (name) values ('bob') returning user_id as bob \gset
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 4, 1);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 2, :bob, 'WAITING', now(), now()) returning token as bob_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, ended_at)
values (:concert, 3, :ann, 'USED', now(), now(), now()) returning token as used_token \gset

set local role boxoffice_api;

select is(api.balance_get(:'ann_token'::uuid), jsonb_build_object('userId', :ann, 'balance', 1234),
  'an ACTIVE token reads its user''s balance');
select is(api.balance_get(:'bob_token'::uuid), jsonb_build_object('userId', :bob, 'balance', 0),
  'a WAITING token reads its user''s balance');
select throws_ok(format('select api.balance_get(%L)', gen_random_uuid()), 'CR301', NULL,
  'an unknown token is refused');
select throws_ok(format('select api.balance_get(%L)', :'used_token'), 'CR302', NULL,
  'a used-up token is refused');
select throws_ok(format('select api.balance_get(%L, %L)', :'ann_token', now() + interval '11 minutes'), 'CR302', NULL,
  'an ACTIVE token past its expiry is refused');
select throws_ok(format('select api.balance_get(%L, %L)', :'bob_token', now() + interval '6 minutes'), 'CR302', NULL,
  'a WAITING token idle past waiting_idle_seconds is refused');

select * from finish();
rollback;
