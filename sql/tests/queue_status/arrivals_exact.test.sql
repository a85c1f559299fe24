-- app.queue_arrived, the count of tickets between two queue numbers that a
-- position adds up, is exact for every pair of ends and every extent of the
-- counted part: the arrival counters of the units of 32, blocks of 1 024 and
-- groups of 32 768 wholly inside the range and below counted_below, and the
-- index for the edges and the tail past counted_below. The line has gaps
-- (numbers the sequence handed out with no ticket of this concert: joins
-- rolled back, other concerts' joins), on and around the boundaries of each
-- size, and every end is compared with a recount of the tickets.
begin;
select plan(4);

select tests.clear_queues();
select tests.concert() as concert_id \gset
-- Queue numbers 30 001 .. 100 000, less the gaps: every seventh number, a
-- run across a block boundary, a whole block of 1 024 and a whole unit of 32.
select tests.long_line(:concert_id, 30001, 100000) as line \gset
delete from app.queue_tickets t
where t.concert_id = :concert_id
  and (t.queue_no % 7 = 3 or t.queue_no between 40900 and 41100 or t.queue_no between 50176 and 51199
       or t.queue_no between 65504 and 65535);
-- the counters recounted over the line as it now is
select api.queue_blocks_rebuild(:concert_id) \gset
select is((select k.counted_below from app.queue_counted k where k.concert_id = :concert_id),
          (select l.closed_below / 32 * 32 from app.queue_line l),
          'the whole line is counted');

create temp table fx_ends on commit drop as
select unnest(array[30000, 30001, 30031, 30032, 30033, 30719, 30720, 31743, 31744, 31745, 32735, 32736, 32767,
                    32768, 32769, 33791, 33792, 40000, 40959, 40960, 41984, 50175, 50176, 51200, 51231,
                    65503, 65504, 65535, 65536, 65537, 70001, 98303, 98304, 98305, 99999, 100000, 100001,
                    100050])::bigint as no;
-- tickets below each end, and below each end + 1: a range's recount is a difference
create temp table fx_below on commit drop as
select x.no,
       (select count(*) from app.queue_tickets t where t.concert_id = :concert_id and t.queue_no < x.no) as n
from (select distinct e.no + d as no from fx_ends e cross join (values (0), (1)) v(d)) x;

-- How many (after_no, before_no, counted_below) triples get another count
-- than the recount; and how many there were. counted_below: the whole line,
-- none of it, a unit boundary inside a block, a block boundary, a group boundary.
create temp table fx_result on commit drop as
with pairs as (
  select a.no as after_no, b.no as before_no
  from fx_ends a cross join fx_ends b
  where a.no < b.no),
cuts as (
  select unnest(array[(select k.counted_below from app.queue_counted k where k.concert_id = :concert_id),
                      0, 47136, 51200, 65536])::bigint as counted_below)
select count(*) filter (where app.queue_arrived(:concert_id, p.after_no, p.before_no, c.counted_below)
                              <> hi.n - lo.n) as wrong,
       count(*) as triples
from pairs p
cross join cuts c
join fx_below lo on lo.no = p.after_no + 1
join fx_below hi on hi.no = p.before_no;

select is((select wrong from fx_result), 0::bigint,
          format('app.queue_arrived is exact for %s triples of ends and counted part', (select triples from fx_result)));
select ok((select triples from fx_result) > 3000, 'every pair of ends, with every counted part');

-- A position is one more than the WAITING tickets ahead (the same counters
-- through api.queue_status), at the back of the line and across the gaps.
select is((select count(*) from app.queue_tickets t
           where t.concert_id = :concert_id and t.queue_no in (41101, 51200, 65536, 99999, 100000)
             and (api.queue_status(t.token)->>'position')::bigint
                 <> (select count(*) from app.queue_tickets w
                     where w.concert_id = :concert_id and w.status = 'WAITING' and w.queue_no < t.queue_no) + 1),
          0::bigint, 'positions after the gaps and at the back of the line are exact');

select * from finish();
rollback;
