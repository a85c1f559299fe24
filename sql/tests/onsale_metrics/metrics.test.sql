-- api.onsale_metrics: per concert, the numbers /metrics shows, each equal to
-- a recount; concerts without a line or with only past dates are left out.
begin;
select plan(9);

select tests.clear_queues();
select tests.setting('queue_active_cap', 2);
select tests.setting('waiting_idle_seconds', 3600);
select tests.setting('new_users_per_minute', 0);
select tests.concert(dates => 2) as concert_id \gset
select tests.concert() as quiet_id \gset
select tests.concert(starts_in => '-2 days') as past_id \gset
create temp table fx_fans on commit drop as select * from tests.join_line(:concert_id, 6);
select tests.join_line(:past_id, 1, now(), '1 ms', 'past') \g /dev/null
select app.queue_admit(now()) \g /dev/null
select app.queue_leave(token, now()) from fx_fans where n = 4 \g /dev/null
select tests.held_reservation(user_id, tests.date_of(:concert_id, 1), 7) from fx_fans where n = 1 \g /dev/null
select tests.held_reservation(user_id, tests.date_of(:concert_id, 2), 8, '-1 minute') from fx_fans where n = 1 \g /dev/null
select tests.sold_seat(user_id, tests.date_of(:concert_id, 2), 9) from fx_fans where n = 2 \g /dev/null

set local role boxoffice_api;
select api.onsale_metrics() as m \gset
reset role;
select (c) as mine from jsonb_array_elements(:'m'::jsonb -> 'concerts') c where (c ->> 'concertId')::bigint = :concert_id \gset

select is((:'mine'::jsonb ->> 'waiting')::bigint,
  (select count(*) from app.queue_tickets where concert_id = :concert_id and status = 'WAITING'),
  'waiting: the WAITING tickets (6 joined, 2 admitted, 1 left: 3)');
select is((:'mine'::jsonb ->> 'waiting')::integer, 3, 'which is 3');
select is((:'mine'::jsonb ->> 'active')::integer, 2, 'active: the 2 admitted');
select is((:'mine'::jsonb ->> 'admitted')::integer, 2, 'admitted: every admission so far');
select is((:'mine'::jsonb ->> 'holds')::integer, 1, 'holds: the unlapsed hold, not the lapsed one');
select is((:'mine'::jsonb ->> 'sold')::integer, 1, 'sold: the seat sold');
select is((select count(*) from jsonb_array_elements(:'m'::jsonb -> 'concerts') c
           where (c ->> 'concertId')::bigint in (:quiet_id, :past_id)), 0::bigint,
  'a concert without a line, and one whose dates are past, are left out');
select is((:'m'::jsonb ->> 'webhookBacklog')::bigint, (select count(*) from app.outbox where delivery_status = 'PENDING'),
  'webhookBacklog: the events still PENDING delivery');

select api.sale_schedule(:quiet_id, now() + interval '1 hour') \g /dev/null
select tests.join_line(:quiet_id, 1, now(), '1 ms', 'early') \g /dev/null
select is((select (c ->> 'prequeue')::integer from jsonb_array_elements(api.onsale_metrics() -> 'concerts') c
           where (c ->> 'concertId')::bigint = :quiet_id), 1, 'prequeue: a scheduled opening not done yet');

select * from finish();
rollback;
