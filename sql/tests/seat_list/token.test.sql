-- api.seat_list token refusals: an ACTIVE token of this concert is needed, and the gate comes before the date.
begin;
select plan(4);

-- Fixtures (tests.seat_world()): concert (dates date1, date2 to come, past_date begun) and
-- other_concert (other_date), 50 seats per date priced 1000 * seat_no;
-- ann and bob ACTIVE on concert, cid WAITING on concert, ann ACTIVE on other_concert.
select * from tests.seat_world() \gset

set local role boxoffice_api;

select throws_ok(format('select api.seat_list(%L, %s, %s)', gen_random_uuid(), :concert, :date1),
  'CR301', NULL, 'an unknown token is refused');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'cid_token', :concert, :date1),
  'CR303', NULL, 'a WAITING token is refused');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'ann_other_token', :concert, :date1),
  'CR304', NULL, 'a token of another concert is refused');
select throws_ok(format('select api.seat_list(%L, %s, %s)', :'cid_token', :concert, :date1 + 1000000),
  'CR303', NULL, 'the token is checked before the date');

select * from finish();
rollback;
