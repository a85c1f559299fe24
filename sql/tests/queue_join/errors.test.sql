-- api.queue_join: bad parameters and unknown user or concert, checked in that
-- order, and nothing written when it refuses.
begin;
select plan(7);

select tests.user('queue_join errors') as user_id \gset
select tests.concert() as concert_id \gset
select coalesce(max(user_id), 0) + 1 as no_user from app.users \gset
select coalesce(max(concert_id), 0) + 1 as no_concert from app.concerts \gset

set local role boxoffice_api;

select throws_ok(format('select api.queue_join(%s, %s)', :no_user, :concert_id),
  'CR101', null, 'an unknown user is CR101');
select throws_ok(format('select api.queue_join(%s, %s)', :user_id, :no_concert),
  'CR102', null, 'an unknown concert is CR102');
select throws_ok(format('select api.queue_join(%s, %s)', :no_user, :no_concert),
  'CR101', null, 'the user is checked before the concert');
select throws_ok(format('select api.queue_join(null, %s)', :concert_id),
  'CR001', null, 'a missing user_id is CR001');
select throws_ok(format('select api.queue_join(%s, null)', :user_id),
  'CR001', null, 'a missing concert_id is CR001');

reset role;
select is((select count(*) from app.queue_tickets where user_id = :user_id), 0::bigint,
  'no ticket was made by the refused joins');
select is((select count(*) from app.queues where concert_id = :concert_id), 0::bigint,
  'no queue row was made by the refused joins');

select * from finish();
rollback;
