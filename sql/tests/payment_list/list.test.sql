-- api.payment_list: the token's user's payments, newest first, for any live token.
begin;
select plan(7);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
-- ann also holds seat 8, at a price of 30000; bob holds seat 9.
select tests.held_reservation(:ann, :date_id, 8, price => 30000) as res8 \gset
select tests.held_reservation(:bob, :date_id, 9) as res9 \gset

set local role boxoffice_api;
select is(api.payment_list(:'ann_token'::uuid), '{"payments": []}'::jsonb, 'no payments yet: an empty list');
select api.payment_create(:'ann_token'::uuid, :res) as first \gset
select api.payment_create(:'bob_token'::uuid, :res9) as bobs \gset
reset role;
-- ann needs a new token for the second purchase; a WAITING one may read the list.
select tests.active_ticket(:ann, :concert) as ann_token2 \gset
-- (as the owner: app.payment_create takes the clock)
select app.payment_create(:'ann_token2'::uuid, :res8, at => now() + interval '1 minute') as second \gset
reset role;
select tests.waiting_ticket(:ann, :concert) as ann_waiting \gset
select tests.waiting_ticket(:bob, :concert) as bob_waiting \gset
set local role boxoffice_api;

select is(api.payment_list(:'ann_waiting'::uuid),
  jsonb_build_object('payments', jsonb_build_array(:'second'::jsonb, :'first'::jsonb)),
  'the user''s payments, newest first, each the Payment that payment_create answered');
select is(api.payment_list(:'bob_waiting'::uuid),
  jsonb_build_object('payments', jsonb_build_array(:'bobs'::jsonb)),
  'another user sees only theirs');
select is(jsonb_array_length(api.payment_list(:'ann_waiting'::uuid)->'payments'), 2, 'two for ann');
select throws_ok(format('select api.payment_list(%L)', :'ann_token'), 'CR302', NULL, 'a used-up token is refused');
select throws_ok(format('select api.payment_list(%L)', gen_random_uuid()), 'CR301', NULL, 'an unknown token is refused');
reset role;
-- ann's WAITING ticket last seen 6 minutes ago: idle (the clock moves in the table, not through the API)
update app.queue_tickets set last_seen_at = now() - interval '6 minutes', joined_at = now() - interval '6 minutes'
where token = :'ann_waiting';
set local role boxoffice_api;
select throws_ok(format('select api.payment_list(%L)', :'ann_waiting'), 'CR302', NULL,
  'an idle WAITING token is refused');

select * from finish();
rollback;
