-- api.queue_join: twenty users joining in turn get 201 and positions 1..20,
-- in queue_no order; the concert's queue row is made on the first join.
begin;
select plan(10);

select tests.concert() as concert_id \gset
create temp table fx_users on commit drop as select * from tests.users(20, 'queue_join positions');
create temp table fx_joins (n integer, status integer, body jsonb) on commit drop;
grant select on fx_users to boxoffice_api;
grant insert on fx_joins to boxoffice_api;

set local role boxoffice_api;
insert into fx_joins
select u.n, j.status, j.body
from (select * from fx_users order by n) u
cross join lateral api.queue_join(u.user_id, :concert_id) j;
reset role;

select is((select array_agg(status order by n) from fx_joins), array_fill(201, array[20]),
  'every join made a new ticket: 201');
select is((select array_agg((body->>'position')::integer order by n) from fx_joins),
  (select array_agg(g) from generate_series(1, 20) g),
  'positions are 1..20 in the order of joining');
select is((select array_agg(tests.queue_rank(:concert_id, t.queue_no) order by j.n) from fx_joins j join app.queue_tickets t on t.token = (j.body->>'token')::uuid),
  (select array_agg(g::bigint) from generate_series(1, 20) g),
  'queue numbers rise in the order of joining');
select is((select count(distinct body->>'token') from fx_joins), 20::bigint, 'twenty different tokens');
select ok((select bool_and(j.body->>'status' = 'WAITING'
                          and (j.body->>'userId')::bigint = u.user_id
                          and (j.body->>'concertId')::bigint = :concert_id
                          and j.body->'expiresAt' = 'null'::jsonb
                          and (j.body->>'estimatedWaitSeconds')::bigint > 0)
           from fx_joins j join fx_users u using (n)),
  'each Ticket is WAITING, for its user and concert, with no expiresAt and a wait above 0');
select is((select array_agg(k order by k) from fx_joins, jsonb_object_keys(body) k where n = 1),
  array['concertId', 'estimatedWaitSeconds', 'expiresAt', 'position', 'saleOpensAt', 'status', 'token', 'userId'],
  'the Ticket has exactly the keys the API documents');
select is((select admitted_upto from app.queues where concert_id = :concert_id), 0::bigint,
  'the queue row was made, and joins leave it alone (its watermark is where it started)');
select ok((select bool_and(t.status = 'WAITING' and t.joined_at between now() and clock_timestamp() and t.last_seen_at = now()
                           and t.activated_at is null and t.expires_at is null and t.ended_at is null)
           from app.queue_tickets t where t.concert_id = :concert_id),
  'tickets are stored WAITING, last seen now, joined when their number was drawn (now, moved on by the time the transaction ran)');
select ok((select bool_and(a.joined_at <= b.joined_at)
           from app.queue_tickets a join app.queue_tickets b on b.concert_id = a.concert_id and b.queue_no > a.queue_no
           where a.concert_id = :concert_id),
  'a later number was never drawn earlier');

set local role boxoffice_api;
select is((select (body->>'position')::integer from api.queue_join((select user_id from fx_users where n = 7), :concert_id)),
  7, 'the seventh user joining again still has position 7');

select * from finish();
rollback;
