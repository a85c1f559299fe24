-- api.payment_create: another user's reservation (CR304), a userId other than the token's (CR304),
-- a token of another concert (CR304), a token still waiting (CR303).
begin;
select plan(9);

-- Fixtures (tests.payment_world()): ann and bob with 80000 each, ACTIVE on concert (one date, date_id, seats
-- at 50000); ann holds seat 7 through reservation res.
select * from tests.payment_world() \gset
-- ann also ACTIVE on another concert; cat, with money, still WAITING on concert.
select tests.concert(dates => 0, title => 'Other concert', venue => 'Other hall') as other_concert \gset
select tests.active_ticket(:ann, :other_concert) as ann_other_token \gset
select tests.user('cat', 80000) as cat \gset
select tests.waiting_ticket(:cat, :concert) as cat_token \gset
select tests.payment_state(:ann, :res, :'ann_token') as ann_before \gset
select tests.payment_state(:bob, :res, :'bob_token') as bob_before \gset

set local role boxoffice_api;
select throws_ok(format('select api.payment_create(%L, %s)', :'bob_token', :res), 'CR304', NULL,
  'another user''s reservation is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'bob_token', :res, :ann), 'CR304', NULL,
  'a userId that is not the token''s user is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'ann_token', :res, :bob), 'CR304', NULL,
  'even by the owner''s token, when userId names someone else');
select throws_ok(format('select api.payment_create(%L, %s)', :'ann_other_token', :res), 'CR304', NULL,
  'a token of another concert is refused');
select throws_ok(format('select api.payment_create(%L, %s)', :'cat_token', :res), 'CR303', NULL,
  'a WAITING token is refused');
select throws_ok(format('select api.payment_create(%L, %s, user_id => %s)', :'cat_token', :res, :cat), 'CR303', NULL,
  'a WAITING token is refused before ownership is looked at');
reset role;
select is(tests.payment_state(:ann, :res, :'ann_token'), :'ann_before', 'the owner''s state is unchanged');
select is(tests.payment_state(:bob, :res, :'bob_token'), :'bob_before', 'the other user''s state is unchanged');
select is((select count(*) from app.queue_tickets where status = 'USED' and user_id in (:ann, :bob, :cat)), 0::bigint,
  'no token was used up');

select * from finish();
rollback;
