-- estimatedWaitSeconds: position over the observed admission rate, floored at
-- the rate the policy guarantees (queue_active_cap / active_token_seconds),
-- which is also the estimate before any admission was observed; 0 once ACTIVE. expiresAt: null while WAITING, the ISO
-- time once ACTIVE.
begin;
select plan(11);

select tests.setting('queue_active_cap', 10);
select tests.setting('active_token_seconds', 100);
select tests.concert() as concert_id \gset
-- three users join in turn: tokens t1..t3
select * from tests.queue_line(:concert_id, 3, 'wait') \gset

set local role boxoffice_api;
select is((api.queue_status(:'t3')->>'estimatedWaitSeconds')::bigint, 30::bigint,
  'no rate observed: position 3 at 10 admissions per 100 s is 30 s');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select tests.setting('queue_active_cap', 20);
set local role boxoffice_api;
select is((api.queue_status(:'t3')->>'estimatedWaitSeconds')::bigint, 15::bigint,
  'the fallback rate follows the policy: cap 20 makes it 15 s');
select is(api.queue_status(:'t3')->'expiresAt', 'null'::jsonb, 'expiresAt is JSON null while WAITING');

reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select tests.setting('queue_active_cap', 1);
set local role boxoffice_api;
select api.queue_admit() as admitted \gset
reset role;
select app.iso(now() + interval '100 seconds') as expires_iso \gset
select admit_rate from app.queues where concert_id = :concert_id \gset
select ok(:admit_rate > 0.01, 'one admission makes an observed rate');
set local role boxoffice_api;
select is((api.queue_status(:'t3')->>'estimatedWaitSeconds')::bigint, ceil(2 / :admit_rate)::bigint,
  'then the wait is position / observed rate, rounded up');
select ok((api.queue_status(:'t2')->>'estimatedWaitSeconds')::bigint > 0, 'and above 0 for the first in line');

select is(api.queue_status(:'t1')->'estimatedWaitSeconds', '0'::jsonb, 'estimatedWaitSeconds is 0 once ACTIVE');
select is(api.queue_status(:'t1')->'position', '0'::jsonb, 'position is 0 once ACTIVE');
select is(api.queue_status(:'t1')->>'expiresAt', (:'expires_iso')::text,
  'expiresAt is the ISO time the ACTIVE token stops working');

reset role;
update app.queues set admit_rate = 0.005 where concert_id = :concert_id;
set local role boxoffice_api;
select is((api.queue_status(:'t3')->>'estimatedWaitSeconds')::bigint, 200::bigint,
  'an observed rate below the policy''s floor (cap / active_token_seconds, 1 per 100 s) uses the floor: position 2, 200 s');
reset role;
update app.queues set admit_rate = 0.02 where concert_id = :concert_id;
set local role boxoffice_api;
select is((api.queue_status(:'t3')->>'estimatedWaitSeconds')::bigint, 100::bigint,
  'an observed rate just above the floor is used as it is (0.02/s: 100 s), with no jump at any threshold');

select * from finish();
rollback;
