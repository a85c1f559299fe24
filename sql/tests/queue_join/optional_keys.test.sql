-- api.queue_join with USER_KEYS=optional: a join without a key may name its user; a wrong key is still refused.
begin;
select plan(3);

select tests.setting('user_keys', 0);
select tests.concert() as concert \gset
select tests.user('ann') as ann \gset

set local role boxoffice_api;
select is((api.queue_join(:ann, :concert)).status, 201, 'without a key, a join names its userId');
select throws_ok(format('select api.queue_join(null, %s)', :concert), 'CR001', NULL,
  'without a key and without a userId it is a 400');
select throws_ok(format('select api.queue_join(%s, %s, api_key => %L)', :ann, :concert, 'bo_nope'), 'CR306', NULL,
  'a wrong key is refused even when keys are optional');

select * from finish();
rollback;
