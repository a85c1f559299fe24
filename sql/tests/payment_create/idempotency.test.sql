-- api.payment_create with an Idempotency-Key: a replay returns the first 201 body, even after the token was
-- used up by that payment, and pays once; the same key with another body is CR204.
begin;
select plan(10);

insert into app.users (name, balance) values ('ann', 80000) returning user_id as ann \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:ann, 'CHARGE', 80000, 80000, now());
insert into app.users (name, balance) values ('bob', 80000) returning user_id as bob \gset
insert into app.ledger (user_id, kind, amount, balance_after, created_at) values (:bob, 'CHARGE', 80000, 80000, now());
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 3, 2);
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '30 days') returning date_id as date_id \gset
insert into app.seats (date_id, seat_no, concert_id, price) select :date_id, n, :concert, 50000 from generate_series(1, 50) n;
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :bob, 'ACTIVE', now(), now(), now(), now() + interval '10 minutes') returning token as bob_token \gset
-- ann holds seat 7
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 7, 50000, now(), now() + interval '5 minutes') returning reservation_id as res \gset
update app.seats set status = 'HELD', user_id = :ann, reservation_id = :res, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 7;
insert into app.reservations (user_id, concert_id, date_id, seat_no, price, created_at, expires_at)
values (:ann, :concert, :date_id, 8, 50000, now(), now() + interval '5 minutes') returning reservation_id as res8 \gset
update app.seats set status = 'HELD', user_id = :ann, reservation_id = :res8, hold_expires_at = now() + interval '5 minutes'
where date_id = :date_id and seat_no = 8;

set local role boxoffice_api;
select api.payment_create(:'ann_token'::uuid, :res, idempotency_key => 'pay-1') as paid \gset
select is(:'paid'::jsonb->>'status', 'COMPLETED', 'the first call pays');
select is(api.payment_create(:'ann_token'::uuid, :res, idempotency_key => 'pay-1'), :'paid'::jsonb,
  'a replay with the used-up token returns the same body');
select is(api.payment_create(:'ann_token'::uuid, :res, user_id => :ann, idempotency_key => 'pay-1'), :'paid'::jsonb,
  'naming the token''s own userId is the same request');
select is(api.payment_create(:'ann_token'::uuid, :res, idempotency_key => 'pay-1', as_of => now() + interval '1 hour'),
  :'paid'::jsonb, 'an hour later, hold and token long gone, still the same body');
select throws_ok(format('select api.payment_create(%L, %s, idempotency_key => %L)', :'ann_token', :res8, 'pay-1'),
  'CR204', NULL, 'the same key for another reservation is refused');
select throws_ok(format('select api.payment_create(%L, %s, idempotency_key => %L)', :'ann_token', :res8, 'pay-2'),
  'CR302', NULL, 'a new key goes on to the gate, which refuses the used-up token');
reset role;
select is((select balance from app.users where user_id = :ann), 30000::bigint, 'the price was debited once');
select is((select count(*) from app.payments where user_id = :ann), 1::bigint, 'one payment');
select is((select count(*) from app.ledger where user_id = :ann and kind = 'PAYMENT'), 1::bigint, 'one PAYMENT ledger row');
select is((select count(*) from app.outbox where user_id = :ann), 1::bigint, 'one outbox event');

select * from finish();
rollback;
