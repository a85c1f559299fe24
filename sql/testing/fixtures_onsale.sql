-- pgTAP fixtures for scheduled on-sales (sql/procedures/26_queue_sale.sql),
-- in schema tests, under the rules of sql/testing/fixtures.sql (loaded after
-- it, into the same database: scripts/test, scripts/dev-sql).
set client_min_messages = warning;
begin;

-- Users who join a concert's line one after the other through
-- app.queue_join, the first at at, each next one step later (joined_at is
-- the arrival the opening compares with sale_opens_at).
create function tests.join_line(
  concert_id bigint,
  how_many integer,
  at timestamptz default now(),
  step interval default '1 millisecond',
  name text default 'fan')
returns table (n integer, user_id bigint, token uuid)
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_user record;
begin
  for v_user in select u.n, u.user_id from tests.users(join_line.how_many, join_line.name) u order by u.n loop
    n := v_user.n;
    user_id := v_user.user_id;
    token := ((app.queue_join(v_user.user_id, join_line.concert_id, join_line.at + (v_user.n - 1) * join_line.step))
              .body ->> 'token')::uuid;
    return next;
  end loop;
end
$$;

comment on function tests.join_line(bigint, integer, timestamptz, interval, text) is
'how_many new users ("<name> 1" ..) join the concert''s line in turn through app.queue_join, user n at
at + (n - 1) * step. Returns (n, user_id, token), n in order of arrival (for a temp table).';

-- A WAITING ticket's place: how many WAITING tickets of its concert are at
-- or before it, by queue number (what its position must say).
create function tests.place(token uuid)
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*)
  from app.queue_tickets t
  join app.queue_tickets me on me.token = place.token
  where t.concert_id = me.concert_id and t.status = 'WAITING' and t.queue_no <= me.queue_no
$$;

comment on function tests.place(uuid) is
'The place of a WAITING ticket among its concert''s WAITING tickets, by queue number (1 = next in).';

commit;
