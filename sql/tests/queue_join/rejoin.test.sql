-- api.queue_join again: the same live ticket with 200 and no new row; a new
-- ticket at the back (201) once the old one is LEFT, USED, EXPIRED, or dead
-- without having been swept yet (ACTIVE past expires_at, WAITING idle).
begin;
select plan(22);

select tests.setting('waiting_idle_seconds', 300);
select tests.setting('active_token_seconds', 600);
select tests.concert() as concert_id \gset
select tests.concert() as concert2_id \gset
-- users u1..u3 joined concert in turn (tokens t1..t3); u4 has joined nothing yet
select * from tests.queue_line(:concert_id, 3, 'rejoin') \gset
select tests.user('rejoin 4') as u4 \gset

set local role boxoffice_api;
select status as again_status, body->>'token' as again_token, (body->>'position')::integer as again_position
from api.queue_join(:u1, :concert_id) \gset
select is(:again_status, 200, 'joining twice answers 200');
select is(:'again_token'::text, :'t1'::text, 'joining twice returns the same token');
select is(:again_position, 1, 'joining twice keeps the place');
reset role;
select is((select count(*) from app.queue_tickets where user_id = :u1), 1::bigint, 'joining twice made no new row');
select is((select count(*) from app.queue_tickets where concert_id = :concert_id), 3::bigint, 'joining twice made no ticket for anyone');

-- LEFT
set local role boxoffice_api;
select api.queue_leave(:'t1') \gset
select status as s, body->>'token' as t1b, (body->>'position')::integer as p from api.queue_join(:u1, :concert_id) \gset
select is(:s, 201, 'after leaving, joining makes a new ticket: 201');
select isnt(:'t1b'::text, :'t1'::text, 'with a new token');
select is(:p, 3, 'at the back of the line, behind the two still waiting');

-- USED: admitted (the first in line now), then used up by a payment
reset role;  -- the policy is the owner's
select tests.setting('queue_active_cap', 1);
set local role boxoffice_api;
select api.queue_admit() as admitted \gset
reset role;
update app.queue_tickets set status = 'USED', ended_at = now() where token = :'t2' and status = 'ACTIVE';
set local role boxoffice_api;
select status as s, body->>'token' as t2b, (body->>'position')::integer as p from api.queue_join(:u2, :concert_id) \gset
select is(:s, 201, 'after a USED ticket, joining makes a new ticket: 201');
select is(:p, 3, 'at the back of the line');

-- EXPIRED by the sweep
reset role;
update app.queue_tickets set status = 'EXPIRED', ended_at = now() where token = :'t3';
set local role boxoffice_api;
select status as s, (body->>'position')::integer as p from api.queue_join(:u3, :concert_id) \gset
select is(:s, 201, 'after an EXPIRED ticket, joining makes a new ticket: 201');
select is(:p, 3, 'at the back of the line (behind the new tickets of users 1 and 2)');

-- ACTIVE, still live: the same ticket, ACTIVE
select body->>'token' as a1 from api.queue_join(:u4, :concert2_id) \gset
select api.queue_admit() as admitted \gset
select status as s, body->>'status' as st, (body->>'position')::integer as p from api.queue_join(:u4, :concert2_id) \gset
select is(:s, 200, 'joining while ACTIVE answers 200');
select is(:'st'::text, 'ACTIVE', 'with the ACTIVE ticket, position 0');

-- ACTIVE a second before expires_at: still live, the same ticket
reset role;
select status as s, body->>'token' as a1b from app.queue_join(:u4, :concert2_id, now() + interval '599 seconds') \gset
select is(:s || ' ' || :'a1b', 200 || ' ' || :'a1', 'a second before the ACTIVE token runs out, joining answers it: 200');

-- ACTIVE past expires_at, not swept yet
select status as s, body->>'token' as a2 from app.queue_join(:u4, :concert2_id, now() + interval '601 seconds') \gset
set local role boxoffice_api;
select is(:s, 201, 'joining after the ACTIVE token ran out makes a new ticket: 201');
reset role;
select is((select (status, ended_at) from app.queue_tickets where token = :'a1'),
  row('EXPIRED'::text, now() + interval '601 seconds'),
  'the ran-out ticket was marked EXPIRED, ended at the time of the join');
select is((select count(*) from app.queue_tickets where user_id = :u4 and concert_id = :concert2_id and status in ('WAITING', 'ACTIVE')),
  1::bigint, 'one live ticket for the user and concert');

-- WAITING a second short of idle: still live, the same ticket (and the
-- join counts as its poll: idle from then on)
select status as s, body->>'token' as a2b from app.queue_join(:u4, :concert2_id, now() + interval '601 seconds' + interval '299 seconds') \gset
select is(:s || ' ' || :'a2b', 200 || ' ' || :'a2', 'a second before the WAITING ticket goes idle, joining answers it: 200');

-- WAITING idle, not swept yet
select status as s, body->>'token' as a3 from app.queue_join(:u4, :concert2_id, now() + interval '900 seconds' + interval '300 seconds') \gset
set local role boxoffice_api;
select is(:s, 201, 'joining after the WAITING ticket went idle makes a new ticket: 201');
reset role;
select is((select status from app.queue_tickets where token = :'a2'), 'EXPIRED', 'the idle ticket was marked EXPIRED');
select isnt(:'a3'::text, :'a2'::text, 'with a new token');

select * from finish();
rollback;
