-- Admission with the statistics of before an on-sale: the concert claim of app.queue_admit_next probes each
-- concert's line from its watermark on the (concert_id, queue_no) index, whatever the statistics say. With
-- status = 'WAITING' in its test, and statistics that knew of a few WAITING tickets, the planner read every WAITING
-- ticket of every concert through queue_tickets_last_seen_at_idx and joined them against every concert's row
-- (113-146 ms a claim in a 10 000-person on-sale); this fails on that plan: the run scans
-- queue_tickets_last_seen_at_idx.
begin;
select plan(3);

-- Statistics taken with a short line (a concert with 3 WAITING tickets), then 20 concerts with a line each and
-- a long line of 3 000 on one of them, as an on-sale makes it, with no analyze.
select tests.concert() as early \gset
select count(*) from tests.users(3, 'early') u, lateral tests.waiting_ticket(u.user_id, :early) t \g /dev/null
analyze app.queue_tickets;
create temp table concerts as select g, tests.concert() as concert_id from generate_series(1, 20) g;
select count(*) from concerts c, lateral tests.users(2, 'c' || c.g) u, lateral tests.waiting_ticket(u.user_id, c.concert_id) t
\g /dev/null
select max(concert_id) as onsale from concerts \gset
select count(*) from tests.users(3000, 'onsale') u, lateral tests.waiting_ticket(u.user_id, :onsale) t \g /dev/null

select pg_stat_get_xact_numscans('app.queue_tickets_last_seen_at_idx'::regclass) as before \gset
select app.queue_admit(now()) as admitted \gset
select pg_stat_get_xact_numscans('app.queue_tickets_last_seen_at_idx'::regclass) as after \gset

select ok(:admitted > 100, 'the run admitted every concert''s line (' || :admitted || ')');
select is(:after::bigint - :before::bigint, 0::bigint, 'the run did not read queue_tickets_last_seen_at_idx');
select is((select count(*) from app.queue_tickets where concert_id = :onsale and status = 'ACTIVE'), 100::bigint,
  'the long line got its cap');

select * from finish();
rollback;
