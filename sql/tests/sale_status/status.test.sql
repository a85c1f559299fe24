-- api.sale_status: the state of one sale, or of every concert with a
-- scheduled opening, a pause or a line.
begin;
select plan(8);

select tests.clear_queues();
select tests.setting('queue_active_cap', 1);
select tests.setting('new_users_per_minute', 42);
select tests.concert(title => 'scheduled') as scheduled \gset
select tests.concert(title => 'paused') as paused \gset
select tests.concert(title => 'with a line') as lined \gset
select tests.concert(title => 'quiet') as quiet \gset
select api.sale_schedule(:scheduled, now() + interval '1 day') \g /dev/null
select api.sale_pause(:paused) \g /dev/null
create temp table fx_fans on commit drop as select * from tests.join_line(:lined, 3);
select app.queue_admit(now()) \g /dev/null

select api.sale_status() -> 'sales' as sales \gset
select ok((select bool_and(s ->> 'concertId' in (:'scheduled', :'paused', :'lined')) and count(*) filter (where (s ->> 'concertId')::bigint in (:scheduled, :paused, :lined)) = 3
           from jsonb_array_elements(:'sales'::jsonb) s
           where (s ->> 'concertId')::bigint >= :scheduled),
  'every concert with a schedule, a pause or a line is listed; a quiet one is not');
select is((select array_agg(s ->> 'state' order by (s ->> 'concertId')::bigint) from jsonb_array_elements(:'sales'::jsonb) s
           where (s ->> 'concertId')::bigint in (:scheduled, :paused, :lined)),
  array['SCHEDULED', 'PAUSED', 'OPEN'], 'their states');

select api.sale_status(:lined) -> 'sales' -> 0 as sale \gset
select is((select array_agg(k order by k) from jsonb_object_keys(:'sale'::jsonb) k),
  array['active', 'admitRate', 'concertId', 'newUsersPerMinute', 'openedAt', 'paused', 'prequeued', 'saleOpensAt', 'state',
        'title', 'waiting'], 'a sale has exactly these keys');
select is((:'sale'::jsonb ->> 'waiting', :'sale'::jsonb ->> 'active', :'sale'::jsonb ->> 'newUsersPerMinute'),
  ('2'::text, '1'::text, '42'::text), 'two waiting, one active, the rate policy');
select is(jsonb_array_length(api.sale_status(:quiet) -> 'sales'), 1, 'a concert asked for by id is listed whatever its state');
select is(api.sale_status(:quiet) #>> '{sales,0,state}', 'OPEN', 'with no schedule and no pause it is OPEN');
select throws_ok('select api.sale_status(-1)', 'CR102', null, 'an unknown concert: CR102');
set local role boxoffice_api;
select throws_ok('select api.sale_status()', '42501', null, 'the server''s role may not read the sales');
reset role;

select * from finish();
rollback;
