-- bench/join_floor only, never migrated into a real database: the least a
-- join can do, to measure the on-sale's floor. It keeps what admission and
-- the line's counting rely on (the queue row, the two advisory locks that
-- mark a join in flight, a number from the sequence, the ticket row with its
-- foreign keys, and the join's share of the counting every
-- app.queue_count_every() numbers) and drops what makes a join a join for
-- its user: the checks (user, concert, a live ticket already), the second
-- join of a user, and above all the exact position (app.ticket_json). Its
-- position is the distance in the shared sequence from the concert's
-- watermark (or from its first ticket, before any admission; one index
-- lookup): close while one concert takes all the joins, as in the on-sale,
-- but not exact, and never below it (departures are not subtracted), so its
-- first poll comes no sooner than the real join's. Polls answer the exact
-- position.
create or replace function app.queue_join(
  user_id bigint,
  concert_id bigint,
  at timestamptz,
  out status integer,
  out body jsonb)
language plpgsql
volatile
security invoker
set search_path = ''
-- as the real join has it: a generic plan made while the line was short
-- would find the concert's first ticket by reading the whole table (all
-- joined took 11.07 s in the one run made without it)
set enable_seqscan = off
set jit = off
as $$
declare
  v_ticket app.queue_tickets;
  v_no bigint;
  v_upto bigint;
  v_first bigint;
  v_position bigint;
  v_counted bigint;
begin
  select q.admitted_upto, (select min(t.queue_no) from app.queue_tickets t where t.concert_id = q.concert_id),
         coalesce(k.counted_below, 0)
    into v_upto, v_first, v_counted
  from app.queues q
  left join app.queue_counted k on k.concert_id = q.concert_id
  where q.concert_id = queue_join.concert_id;
  if not found then
    insert into app.queues (concert_id) values (queue_join.concert_id) on conflict do nothing;
    v_upto := 0;
    v_counted := 0;
  end if;
  perform app.queue_join_mark();
  v_no := nextval('app.queue_tickets_queue_no_seq');
  perform app.queue_join_number(v_no);
  insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
  values (queue_join.concert_id, v_no, queue_join.user_id, 'WAITING', queue_join.at, queue_join.at)
  returning * into v_ticket;
  if v_no - v_counted >= app.queue_count_every() then
    perform app.queue_count_help(queue_join.concert_id);
  end if;
  v_position := v_no - greatest(v_upto, coalesce(v_first, v_no) - 1);
  status := 201;
  body := jsonb_build_object('token', v_ticket.token, 'userId', v_ticket.user_id,
    'concertId', v_ticket.concert_id, 'status', 'WAITING', 'position', v_position,
    'estimatedWaitSeconds', v_position / 100, 'expiresAt', null, 'saleOpensAt', null);
end
$$;
