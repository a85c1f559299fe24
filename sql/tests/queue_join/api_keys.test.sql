-- api.queue_join with USER_KEYS=required: the user's API key, not their id, lets a join act for them.
begin;
select plan(13);

select tests.setting('user_keys', 1);
select tests.concert() as concert \gset

set local role boxoffice_api;
select api.user_create('ann') as ann \gset
select api.user_create('bob') as bob \gset
select ok((:'ann'::jsonb ->> 'apiKey') ~ '^bo_[0-9a-f]{64}$', 'POST /api/users answers with an API key (bo_ and 64 hex digits)');
select isnt(:'ann'::jsonb ->> 'apiKey', :'bob'::jsonb ->> 'apiKey', 'each user has a key of their own');
reset role;
select is((select u.api_key_hash from app.users u where u.user_id = (:'ann'::jsonb ->> 'userId')::bigint),
  sha256(convert_to(:'ann'::jsonb ->> 'apiKey', 'UTF8')), 'only the key''s SHA-256 is stored');
select is((select count(*) from app.users u where u.api_key_hash::text like '%' || (:'ann'::jsonb ->> 'apiKey') || '%'),
  0::bigint, 'never the key itself');
set local role boxoffice_api;

select throws_ok(format('select api.queue_join(user_id => %s, concert_id => %s)', :'ann'::jsonb ->> 'userId', :concert),
  'CR305', NULL, 'a join without a key is API_KEY_MISSING, even naming the user');
select throws_ok(format('select api.queue_join(null, %s, api_key => %L)', :concert, 'bo_' || repeat('0', 64)),
  'CR306', NULL, 'a wrong key is API_KEY_INVALID');
select throws_ok(format('select api.queue_join(%s, %s, api_key => %L)', :'bob'::jsonb ->> 'userId', :concert, :'ann'::jsonb ->> 'apiKey'),
  'CR304', NULL, 'ann''s key naming bob is TOKEN_FORBIDDEN');
select throws_ok(format('select api.queue_join(null, null, api_key => %L)', :'ann'::jsonb ->> 'apiKey'),
  'CR001', NULL, 'a missing concertId is a 400 first');
select * from api.queue_join(null, :concert, api_key => :'ann'::jsonb ->> 'apiKey') \gset j_
select is((:'j_body'::jsonb ->> 'userId')::bigint, (:'ann'::jsonb ->> 'userId')::bigint,
  'ann''s key alone joins for ann');
select is((api.queue_join((:'ann'::jsonb ->> 'userId')::bigint, :concert, api_key => :'ann'::jsonb ->> 'apiKey')).status,
  200, 'naming her own userId with her key is allowed (her live ticket again)');

-- A DBA issues a new key: the old one stops working at once.
reset role;
select api.user_key_issue((:'ann'::jsonb ->> 'userId')::bigint) as renewed \gset
set local role boxoffice_api;
select throws_ok(format('select api.queue_join(null, %s, api_key => %L)', :concert, :'ann'::jsonb ->> 'apiKey'),
  'CR306', NULL, 'the old key is refused once a new one is issued');
select is((api.queue_join(null, :concert, api_key => :'renewed'::jsonb ->> 'apiKey')).status, 200, 'the new one works');
reset role;
select throws_ok('select api.user_key_issue(999999999)', 'CR101', NULL, 'a key for no user is USER_NOT_FOUND');

select * from finish();
rollback;
