-- api.concert_list: every concert with its number of dates still to come, by concertId, no token.
begin;
select plan(6);

-- Fixtures: concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
insert into app.users (name) values ('ann') returning user_id as ann \gset
insert into app.users (name) values ('bob') returning user_id as bob \gset
insert into app.users (name) values ('cid') returning user_id as cid \gset
insert into app.concerts (title, venue) values ('Test concert', 'Test hall') returning concert_id as concert \gset
insert into app.concerts (title, venue) values ('Other concert', 'Other hall') returning concert_id as other_concert \gset
insert into app.queues (concert_id, next_no, admitted_upto) values (:concert, 4, 2), (:other_concert, 2, 1);
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '1 day') returning date_id as date1 \gset
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() + interval '2 days') returning date_id as date2 \gset
insert into app.concert_dates (concert_id, starts_at) values (:concert, now() - interval '1 hour') returning date_id as past_date \gset
insert into app.concert_dates (concert_id, starts_at) values (:other_concert, now() + interval '1 day') returning date_id as other_date \gset
insert into app.seats (date_id, seat_no, concert_id, price)
select d.date_id, n, d.concert_id, 1000 * n
from app.concert_dates d, generate_series(1, 50) n
where d.concert_id in (:concert, :other_concert);
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '7 days') returning token as ann_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:concert, 2, :bob, 'ACTIVE', now(), now(), now(), now() + interval '7 days') returning token as bob_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at)
values (:concert, 3, :cid, 'WAITING', now(), now()) returning token as cid_token \gset
insert into app.queue_tickets (concert_id, queue_no, user_id, status, joined_at, last_seen_at, activated_at, expires_at)
values (:other_concert, 1, :ann, 'ACTIVE', now(), now(), now(), now() + interval '7 days') returning token as ann_other_token \gset

set local role boxoffice_api;

select api.concert_list() as list \gset
select is(jsonb_typeof(:'list'::jsonb -> 'concerts'), 'array', 'the answer is {"concerts": [...]}');
select is(
  (select c from jsonb_array_elements(:'list'::jsonb -> 'concerts') c where (c ->> 'concertId')::bigint = :concert),
  jsonb_build_object('concertId', :concert, 'title', 'Test concert', 'venue', 'Test hall', 'dates', 2),
  'a concert reads {"concertId", "title", "venue", "dates"}; dates counts only the dates still to come');
select is(
  (select c -> 'dates' from jsonb_array_elements(:'list'::jsonb -> 'concerts') c where (c ->> 'concertId')::bigint = :other_concert),
  '1'::jsonb, 'the other concert has its one date');
select is(
  (select array_agg((c ->> 'concertId')::bigint order by o) from jsonb_array_elements(:'list'::jsonb -> 'concerts') with ordinality as e (c, o)),
  (select array_agg((c ->> 'concertId')::bigint order by (c ->> 'concertId')::bigint) from jsonb_array_elements(:'list'::jsonb -> 'concerts') c),
  'concerts come by concertId');
select is(
  (select c -> 'dates' from jsonb_array_elements(api.concert_list(as_of => now() + interval '36 hours') -> 'concerts') c
   where (c ->> 'concertId')::bigint = :concert),
  '1'::jsonb, 'as the clock moves past a date it is no longer counted');
select is(
  (select c -> 'dates' from jsonb_array_elements(api.concert_list(as_of => now() + interval '3 days') -> 'concerts') c
   where (c ->> 'concertId')::bigint = :concert),
  '0'::jsonb, 'a concert with only past dates is listed with 0 dates');

select * from finish();
rollback;
