-- A concert's sale: a scheduled opening with a pre-queue, pause and resume
-- (columns of app.concerts, sql/migrations/0008_onsale.sql). The rate of
-- admission (new_users_per_minute) is applied by the admission itself
-- (21_queue_jobs.sql); docs/onsale.md tells the whole story.
--
-- The pre-queue. While a concert has a sale_opens_at and its opening is not
-- done (sale_opened_at null), its WAITING tickets have no position and
-- admission passes the concert over. Joins go on as always: each draws its
-- number from the shared sequence, so every ticket that joined before the
-- opening already holds a number lower than any join that draws one later.
--
-- The opening is done by the concert's admission (app.queue_admit_next,
-- which holds the concert's app.queues row), in two steps:
--
-- 1. The first run at or after sale_opens_at reads the sequence: every
--    number drawn before that read (and so every number drawn before the
--    opening) is below last_value + 1, the cut (app.concerts.sale_cut).
-- 2. Once the closed part of the line reaches the cut (closed_below >= cut:
--    every join that drew a number below it has ended; usually the same run
--    or the next), the set of WAITING tickets below the cut is final, and it
--    holds every ticket whose join drew its number before the opening.
--    app.sale_open locks them and permutes their numbers in one UPDATE: the
--    tickets that joined before the opening (joined_at, the moment the join
--    drew its number) take the lowest of those numbers in a uniformly random
--    order, those that joined after it (and drew a number below the cut)
--    the rest, in their arrival order. Later joins hold higher numbers.
--
-- A join in flight across the opening holds its number below the cut until
-- it ends, and the line is not closed past it: the opening waits for it, and
-- a steady stream of later joins (numbers above the cut) never holds it up.
--
-- Why the counters stay exact: the opening only permutes the numbers of
-- WAITING tickets among themselves, so every block of numbers holds as many
-- tickets as before (the arrival counters, app.queue_arrivals), and the
-- tickets that left the line keep their numbers (the departure counters,
-- app.queue_blocks). Positions are right from the first poll after the
-- opening commits. Every path that counts a departure takes the number from
-- its own UPDATE's RETURNING, which sees the number the opening gave.
--
-- A number drawn before the opening is below the cut (the cut is read after
-- the opening), and its ticket's joined_at is before the opening: so the
-- pre-queue is exactly the tickets whose number was drawn before the
-- opening, however long their joins took to draw it or to commit.

create or replace function app.sale_open(
  concert app.concerts,
  admitted_upto bigint,
  closed_below bigint,
  at timestamptz)
returns boolean
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_cut bigint := (sale_open.concert).sale_cut;
  v_last bigint;
  v_called boolean;
  v_tokens uuid[];
  v_numbers bigint[];
  v_prequeued bigint;
begin
  if v_cut is null then
    -- Step 1: this transaction started at or after the opening, so every
    -- number drawn before the opening was drawn before this read.
    select s.last_value, s.is_called into v_last, v_called from app.queue_tickets_queue_no_seq s;
    v_cut := case when v_called then v_last + 1 else v_last end;
    update app.concerts c set sale_cut = v_cut where c.concert_id = (sale_open.concert).concert_id;
  end if;
  if sale_open.closed_below < v_cut then
    -- a join that drew a number below the cut may still be in flight
    return false;
  end if;

  -- Step 2. Lock the WAITING tickets below the cut first (a poll, a leave or
  -- a sweep may hold one for a moment; a ticket that left meanwhile drops
  -- out). No ticket can appear below the cut any more (it is in the closed
  -- part), and a locked WAITING ticket stays WAITING, so the next statement
  -- sees exactly the locked set.
  perform
  from app.queue_tickets t
  where t.concert_id = (sale_open.concert).concert_id and t.queue_no > sale_open.admitted_upto
    and t.queue_no < v_cut and t.status = 'WAITING'
  for update;

  -- The numbers, in order, go to the tickets in their new order: those that
  -- joined before the opening at random, then the others by arrival. The
  -- unique key on (concert_id, queue_no) is checked at the end of the
  -- statement (deferrable), so the numbers may change hands in one UPDATE.
  -- Two arrays and one UPDATE by primary key: a plan that holds whatever
  -- the statistics say of tickets that joined a moment ago.
  select coalesce(array_agg(w.token order by w.early desc, case when w.early then random() end, w.queue_no), '{}'),
         coalesce(array_agg(w.queue_no order by w.queue_no), '{}'),
         count(*) filter (where w.early)
    into v_tokens, v_numbers, v_prequeued
  from (select t.token, t.queue_no, t.joined_at < (sale_open.concert).sale_opens_at as early
        from app.queue_tickets t
        where t.concert_id = (sale_open.concert).concert_id and t.queue_no > sale_open.admitted_upto
          and t.queue_no < v_cut and t.status = 'WAITING') w;
  update app.queue_tickets t
  set queue_no = p.queue_no
  from unnest(v_tokens, v_numbers) p(token, queue_no)
  where t.token = p.token and t.queue_no <> p.queue_no;

  update app.concerts c
  set sale_opened_at = sale_open.at, sale_prequeued = v_prequeued
  where c.concert_id = (sale_open.concert).concert_id;
  return true;
end
$$;

comment on function app.sale_open(app.concerts, bigint, bigint, timestamptz) is
'The opening of a scheduled sale, by the concert''s admission (which holds its app.queues row) at a run at or after
sale_opens_at. The first such run sets the concert''s cut (sale_cut, past every number drawn so far). Once
closed_below reaches the cut, the WAITING tickets between admitted_upto and the cut that joined before the opening
take the lowest of their numbers in a uniformly random order, the ones that joined after it the rest in arrival
order (one UPDATE permuting the numbers, so the arrival and departure counters stay exact), and the concert is
marked opened at at (sale_prequeued: how many were in the pre-queue).
Result: true when the sale is open now, false while the line is not closed up to the cut.';

-- A sale's state, as the DBA's functions and `boxoffice sale status` show it.
create or replace function app.sale_json(concert app.concerts, at timestamptz)
returns jsonb
language sql
stable
security invoker
set search_path = ''
as $$
  select jsonb_build_object(
    'concertId', (sale_json.concert).concert_id,
    'title', (sale_json.concert).title,
    'state', case when (sale_json.concert).sale_paused then 'PAUSED'
                  when (sale_json.concert).sale_opens_at is null or (sale_json.concert).sale_opened_at is not null then 'OPEN'
                  when (sale_json.concert).sale_opens_at > sale_json.at then 'SCHEDULED'
                  else 'OPENING' end,
    'paused', (sale_json.concert).sale_paused,
    'saleOpensAt', app.iso((sale_json.concert).sale_opens_at),
    'openedAt', app.iso((sale_json.concert).sale_opened_at),
    'prequeued', (sale_json.concert).sale_prequeued,
    'waiting', (select count(*)
                from app.queue_tickets t
                join app.queues q on q.concert_id = t.concert_id
                where t.concert_id = (sale_json.concert).concert_id and t.queue_no > q.admitted_upto
                  and t.status = 'WAITING'),
    'active', (select count(*)
               from app.queue_tickets t
               where t.concert_id = (sale_json.concert).concert_id and t.status = 'ACTIVE'
                 and t.expires_at > sale_json.at),
    'admitRate', coalesce((select round(q.admit_rate::numeric, 3)
                           from app.queues q where q.concert_id = (sale_json.concert).concert_id), 0),
    'newUsersPerMinute', app.setting('new_users_per_minute', 0))
$$;

comment on function app.sale_json(app.concerts, timestamptz) is
'A concert''s sale at at: {"concertId", "title", "state": "SCHEDULED"|"OPENING"|"OPEN"|"PAUSED", "paused",
"saleOpensAt", "openedAt", "prequeued", "waiting", "active", "admitRate", "newUsersPerMinute"}. OPENING: the
opening time has passed and the next admission run opens it.';

-- The concert's row, locked for a change by a DBA; CR001/CR102 otherwise.
create or replace function app.sale_concert(concert_id bigint)
returns app.concerts
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_concert app.concerts;
begin
  if sale_concert.concert_id is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'concert_id is required';
  end if;
  select * into v_concert from app.concerts c where c.concert_id = sale_concert.concert_id for no key update;
  if not found then
    raise exception using errcode = 'CR102', message = 'concert not found',
      detail = 'no concert ' || sale_concert.concert_id || ' exists';
  end if;
  return v_concert;
end
$$;

comment on function app.sale_concert(bigint) is
'The concert concert_id, locked FOR NO KEY UPDATE for a change to its sale. Errors: CR001 null, CR102 unknown.';

create or replace function app.sale_schedule(concert_id bigint, opens_at timestamptz, at timestamptz)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_concert app.concerts := app.sale_concert(sale_schedule.concert_id);
begin
  if sale_schedule.opens_at is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'opens_at is required';
  end if;
  if v_concert.sale_opened_at is not null then
    raise exception using errcode = 'CR207', message = 'sale already open',
      detail = format('the sale of concert %s opened at %s; its line cannot be put in a pre-queue again',
                      v_concert.concert_id, app.iso(v_concert.sale_opened_at));
  end if;
  -- a cut read for the old time belongs to it
  update app.concerts c set sale_opens_at = sale_schedule.opens_at, sale_cut = null
  where c.concert_id = v_concert.concert_id
  returning * into v_concert;
  return app.sale_json(v_concert, sale_schedule.at);
end
$$;

comment on function app.sale_schedule(bigint, timestamptz, timestamptz) is
'api.sale_schedule with its clock at (the state it returns is as of at).';

create or replace function api.sale_schedule(concert_id bigint, opens_at timestamptz)
returns jsonb
language sql
volatile
security definer
set search_path = ''
as $$
  select app.sale_schedule(sale_schedule.concert_id, sale_schedule.opens_at, now())
$$;

comment on function api.sale_schedule(bigint, timestamptz) is
'Schedules the opening of a concert''s sale (boxoffice sale schedule). Until the opening, joining gives a WAITING
ticket with position and estimatedWaitSeconds null and saleOpensAt set, and nobody is admitted; at the first
admission run after opens_at, everyone who joined before it is put in a uniformly random order, ahead of everyone
who joins later (by arrival). Tickets already waiting join the pre-queue. May be moved (earlier or later, also
into the past: the next run opens) until the opening is done.
Parameters: concert_id; opens_at.
Result: the sale: {"concertId", "title", "state": "SCHEDULED"|"OPENING"|"OPEN"|"PAUSED", "paused", "saleOpensAt",
"openedAt", "prequeued", "waiting", "active", "admitRate", "newUsersPerMinute"}.
Errors: CR001 a null parameter, CR102 unknown concert, CR207 the sale has opened already.';

revoke execute on function api.sale_schedule(bigint, timestamptz) from public;

create or replace function app.sale_pause(concert_id bigint, paused boolean, at timestamptz)
returns jsonb
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_concert app.concerts := app.sale_concert(sale_pause.concert_id);
begin
  if v_concert.sale_paused is distinct from sale_pause.paused then
    update app.concerts c set sale_paused = sale_pause.paused
    where c.concert_id = v_concert.concert_id
    returning * into v_concert;
  end if;
  return app.sale_json(v_concert, sale_pause.at);
end
$$;

comment on function app.sale_pause(bigint, boolean, timestamptz) is
'api.sale_pause (paused true) and api.sale_resume (false) with their clock at.';

create or replace function api.sale_pause(concert_id bigint)
returns jsonb
language sql
volatile
security definer
set search_path = ''
as $$
  select app.sale_pause(sale_pause.concert_id, true, now())
$$;

comment on function api.sale_pause(bigint) is
'Pauses admission to a concert (boxoffice sale pause): from the next admission run on nobody is admitted; the line
keeps its order and its positions (estimatedWaitSeconds is null meanwhile); joins, polls and leaves go on, and
ACTIVE tokens keep working. A scheduled opening waits for the resume. Pausing a paused sale changes nothing.
Parameters: concert_id.
Result: the sale (as api.sale_schedule).
Errors: CR001 null concert_id, CR102 unknown concert.';

revoke execute on function api.sale_pause(bigint) from public;

create or replace function api.sale_resume(concert_id bigint)
returns jsonb
language sql
volatile
security definer
set search_path = ''
as $$
  select app.sale_pause(sale_resume.concert_id, false, now())
$$;

comment on function api.sale_resume(bigint) is
'Resumes admission to a paused concert (boxoffice sale resume): the next admission run admits in order again.
Resuming a sale that is not paused changes nothing.
Parameters: concert_id.
Result: the sale (as api.sale_schedule).
Errors: CR001 null concert_id, CR102 unknown concert.';

revoke execute on function api.sale_resume(bigint) from public;

create or replace function app.sale_status(concert_id bigint, at timestamptz)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  if sale_status.concert_id is not null then
    perform from app.concerts c where c.concert_id = sale_status.concert_id;
    if not found then
      raise exception using errcode = 'CR102', message = 'concert not found',
        detail = 'no concert ' || sale_status.concert_id || ' exists';
    end if;
  end if;
  return jsonb_build_object('sales', coalesce(
    (select jsonb_agg(app.sale_json(c, sale_status.at) order by c.concert_id)
     from app.concerts c
     where case when sale_status.concert_id is not null then c.concert_id = sale_status.concert_id
                else c.sale_opens_at is not null or c.sale_paused
                     or exists (select from app.queues q where q.concert_id = c.concert_id) end),
    '[]'::jsonb));
end
$$;

comment on function app.sale_status(bigint, timestamptz) is
'api.sale_status with its clock at.';

create or replace function api.sale_status(concert_id bigint default null)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select app.sale_status(sale_status.concert_id, now())
$$;

comment on function api.sale_status(bigint) is
'The state of one concert''s sale, or (concert_id null) of every concert with a scheduled opening, a pause or a
line (boxoffice sale status). Read only.
Parameters: concert_id (default null: all of those).
Result: {"sales": [sale...]} by concertId, each as api.sale_schedule returns it.
Errors: CR102 unknown concert.';

revoke execute on function api.sale_status(bigint) from public;
