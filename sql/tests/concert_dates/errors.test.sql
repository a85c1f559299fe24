-- api.concert_dates refusals, in the API's order of errors: the token gate, then the concert.
begin;
select plan(7);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select throws_ok(format('select api.concert_dates(%L, %s)', gen_random_uuid(), :concert),
  'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.concert_dates(%L, %s)', :'cid_token', :concert),
  'CR303', NULL, 'a WAITING token is refused');
select throws_ok(format('select api.concert_dates(%L, %s)', :'ann_other_token', :concert),
  'CR304', NULL, 'a token of another concert is refused');
select throws_ok(format('select api.concert_dates(%L, %s)', :'ann_token', :concert + 1000000),
  'CR304', NULL, 'an unknown concert with a live token of another concert: the token error comes first');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select throws_ok(format('select app.concert_dates(%L, %s, %L)', :'ann_token', :concert, now() + interval '8 days'),
  'CR302', NULL, 'an ACTIVE token past its expiresAt is refused');
set local role boxoffice_api;
select throws_ok(format('select api.concert_dates(%L, null)', :'ann_token'),
  'CR001', NULL, 'a missing concert id is a bad request');

-- CR102 needs a live ticket whose concert does not exist, which the foreign
-- keys forbid; disable them for this fixture only.
reset role;
set local session_replication_role = replica;
insert into app.queues (concert_id) values (-1);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (-1, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '1 day') returning token as ghost_token \gset
set local session_replication_role = origin;
set local role boxoffice_api;
select throws_ok(format('select api.concert_dates(%L, -1)', :'ghost_token'),
  'CR102', NULL, 'an unknown concert past the gate is not found');

select * from finish();
rollback;
