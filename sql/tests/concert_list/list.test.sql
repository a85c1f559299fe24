-- api.concert_list: every concert with its number of dates still to come, by concertId, no token.
begin;
select plan(7);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select api.concert_list() as list \gset
select is(jsonb_typeof(:'list'::jsonb -> 'concerts'), 'array', 'the answer is {"concerts": [...]}');
select is(
  (select c from jsonb_array_elements(:'list'::jsonb -> 'concerts') c where (c ->> 'concertId')::bigint = :concert),
  jsonb_build_object('concertId', :concert, 'title', 'Test concert', 'venue', 'Test hall', 'dates', 2, 'saleOpensAt', null),
  'a concert reads {"concertId", "title", "venue", "dates", "saleOpensAt"}; dates counts only the dates still to come');
select is(
  (select c -> 'dates' from jsonb_array_elements(:'list'::jsonb -> 'concerts') c where (c ->> 'concertId')::bigint = :other_concert),
  '1'::jsonb, 'the other concert has its one date');
select is(
  (select array_agg((c ->> 'concertId')::bigint order by o) from jsonb_array_elements(:'list'::jsonb -> 'concerts') with ordinality as e (c, o)),
  (select array_agg((c ->> 'concertId')::bigint order by (c ->> 'concertId')::bigint) from jsonb_array_elements(:'list'::jsonb -> 'concerts') c),
  'concerts come by concertId');
reset role;  -- app.* (the clock) and tests.* are not for boxoffice_api
select is(
  (select c -> 'dates' from jsonb_array_elements(app.concert_list(as_of => now() + interval '36 hours') -> 'concerts') c
   where (c ->> 'concertId')::bigint = :concert),
  '1'::jsonb, 'as the clock moves past a date it is no longer counted');
-- as the superuser: app.* (the clock) is for tests, not for boxoffice_api
select is(
  (select c -> 'dates' from jsonb_array_elements(app.concert_list(as_of => now() + interval '3 days') -> 'concerts') c
   where (c ->> 'concertId')::bigint = :concert),
  '0'::jsonb, 'a concert with only past dates is listed with 0 dates');
select api.sale_schedule(:other_concert, '2030-01-02 03:04:05.6+00') \g /dev/null
set local role boxoffice_api;
select is(
  (select c -> 'saleOpensAt' from jsonb_array_elements(api.concert_list() -> 'concerts') c
   where (c ->> 'concertId')::bigint = :other_concert),
  '"2030-01-02T03:04:05Z"'::jsonb, 'a scheduled opening is listed as saleOpensAt, ISO 8601 UTC');

select * from finish();
rollback;
