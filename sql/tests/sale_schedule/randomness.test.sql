-- The opening puts the pre-queue in a uniformly random order: with 3 000
-- pre-queued fans, neither the rank correlation between arrival and place
-- nor a chi-square of arrival decile against place decile goes beyond what
-- chance gives. Bounds, for a fair shuffle (n = 3 000):
--   Spearman's rho: sqrt(n - 1) * rho is about N(0, 1); |rho| < 5.1 / sqrt(n - 1)
--     fails with probability 3.4e-7;
--   Pearson's X^2 of the 10 x 10 table (30 expected per cell) has 81 degrees
--     of freedom; X^2 < 160.1 fails with probability 4e-7;
-- so this test fails a fair shuffle with probability below 1e-6. The same
-- statistics of the order of arrival itself (no shuffle) and of a shuffle
-- within each half only are checked to fail the bounds, so the test can fail.
begin;
select plan(9);

select tests.clear_queues();
select tests.setting('queue_active_cap', 1);
select tests.setting('waiting_idle_seconds', 7200);
select tests.setting('new_users_per_minute', 0);
select tests.concert() as concert_id \gset
select api.sale_schedule(:concert_id, now() + interval '1 hour') \g /dev/null

create temp table fx_fans on commit drop as select * from tests.join_line(:concert_id, 3000, now(), '1 millisecond');
select is((select count(*) from fx_fans), 3000::bigint, '3 000 fans joined before the opening');
select is(app.queue_admit(now() + interval '1 hour 1 second'), 1, 'the opening run admits the cap, 1');

-- place: 1-based rank of the ticket's number among the pre-queue (admitted included)
create temp table fx_places on commit drop as
select f.n as arrival, row_number() over (order by t.queue_no) as place
from fx_fans f join app.queue_tickets t using (token);

-- Spearman's rho over ranks 1..n without ties: 1 - 6 sum(d^2) / (n (n^2 - 1));
-- X^2 of deciles: both margins are 300 each, 30 expected per cell.
create function pg_temp.rho(arrival bigint[], place bigint[]) returns double precision language sql immutable as $$
  select 1 - 6 * sum(((a - p)::double precision) ^ 2) / (count(*) * (count(*)::double precision ^ 2 - 1))
  from unnest(arrival, place) x(a, p)
$$;
create function pg_temp.chi2(arrival bigint[], place bigint[]) returns double precision language sql immutable as $$
  with n as (select cardinality(arrival) as n),
  cells as (
    select (a - 1) * 10 / n.n as ra, (p - 1) * 10 / n.n as rp, count(*) as observed
    from unnest(arrival, place) x(a, p) cross join n
    group by 1, 2),
  grid as (
    select ra, rp, coalesce(c.observed, 0) as observed, (select n / 100.0 from n) as expected
    from generate_series(0, 9) ra cross join generate_series(0, 9) rp left join cells c using (ra, rp))
  select sum((observed - expected) ^ 2 / expected)::double precision from grid
$$;

select array_agg(arrival order by arrival) as arrivals, array_agg(place order by arrival) as places
from fx_places \gset
select pg_temp.rho(:'arrivals', :'places') as rho, pg_temp.chi2(:'arrivals', :'places') as chi2 \gset
\echo # Spearman rho :rho (bound 0.0931), chi-square :chi2 (bound 160.1)
select ok(abs(:rho) < 5.1 / sqrt(2999), format('no rank correlation between arrival and place beyond chance (rho %s)', round(:rho::numeric, 4)));
select ok(:chi2 < 160.1, format('arrival deciles against place deciles: chi-square %s below 160.1 (81 df)', round(:chi2::numeric, 1)));

-- the bounds can fail: no shuffle at all, or a shuffle that only mixes within each half
select ok(abs(pg_temp.rho(:'arrivals', :'arrivals')) >= 5.1 / sqrt(2999), 'the order of arrival itself fails the rho bound');
select ok(pg_temp.chi2(:'arrivals', :'arrivals') >= 160.1, 'and the chi-square bound');
select array_agg(place order by arrival) as halves
from (select arrival, case when arrival <= 1500 then 0 else 1500 end + row_number() over (partition by arrival <= 1500 order by random()) as place
      from fx_places) h \gset
select ok(abs(pg_temp.rho(:'arrivals', :'halves')) >= 5.1 / sqrt(2999) and pg_temp.chi2(:'arrivals', :'halves') >= 160.1,
  'a shuffle within each half only fails both');

-- every place is taken once, and every position is exact from the first poll
select is((select count(distinct place) from fx_places), 3000::bigint, 'the 3 000 places are all different');
select is((select count(*)
           from (select t.token, row_number() over (order by t.queue_no) as place
                 from fx_fans f join app.queue_tickets t using (token)
                 where t.status = 'WAITING') w
           where (app.queue_status(w.token, now() + interval '1 hour 2 seconds') ->> 'position')::bigint <> w.place),
  0::bigint, 'every waiting fan''s first position after the opening is its exact place');

select * from finish();
rollback;
