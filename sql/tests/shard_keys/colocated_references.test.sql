-- Shard-ready schema (0009, docs/scaling.md): the keys and references of the tables of a concert carry
-- concert_id, so a distributed engine can check them on one shard; a row whose concert_id disagrees with
-- the row it names is refused, and a seat is still unique by (date_id, seat_no).
begin;
select plan(7);

-- The rule, over the whole schema: a foreign key from one table with concert_id to another with
-- concert_id joins on concert_id. The one known exception is listed (docs/scaling.md says why);
-- a new table of a concert must follow the rule.
select is_empty($$
  select c.conname::text
  from pg_constraint c
  join pg_namespace n on n.oid = c.connamespace and n.nspname = 'app'
  where c.contype = 'f'
    and exists (select from pg_attribute a where a.attrelid = c.conrelid and a.attname = 'concert_id' and not a.attisdropped)
    and exists (select from pg_attribute a where a.attrelid = c.confrelid and a.attname = 'concert_id' and not a.attisdropped)
    and not exists (
      select from unnest(c.conkey, c.confkey) k(col, fcol)
      join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.col
      join pg_attribute f on f.attrelid = c.confrelid and f.attnum = k.fcol
      where a.attname = 'concert_id' and f.attname = 'concert_id')
    and c.conname <> 'payments_reservation_id_fkey'
  $$, 'every foreign key between two concert tables joins on concert_id');

select col_is_pk('app', 'seats', array['date_id', 'seat_no', 'concert_id'], 'the seats'' key includes the concert');
select fk_ok('app', 'reservations', array['date_id', 'seat_no', 'concert_id'],
             'app', 'seats', array['date_id', 'seat_no', 'concert_id'],
             'a reservation names its seat with the concert');

-- Behaviour. ann paid for seat 7 (reservation res) of concert's date date_id.
select * from tests.audit_world() \gset
select tests.concert(title => 'Other concert') as other \gset
select throws_ok(
  format($$insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
           values (%s, %s, %s, 8, 100, 'CANCELLED', now(), now())$$, :ann, :other, :date_id),
  '23503', NULL, 'a reservation whose concert is not its seat''s is refused');
select lives_ok(
  format($$insert into app.reservations (user_id, concert_id, date_id, seat_no, price, status, created_at, expires_at)
           values (%s, %s, %s, 8, 100, 'CANCELLED', now(), now())$$, :ann, :concert, :date_id),
  'the same reservation with its seat''s concert is taken');
-- A second seat 7 on the date under another concert is refused before the key is reached (the date is
-- not the other concert's), so (date_id, seat_no) stays unique through the wider key.
select throws_ok(
  format($$insert into app.seats (date_id, seat_no, concert_id, price) values (%s, 7, %s, 100)$$, :date_id, :other),
  '23503', NULL, 'a seat of a date under another concert is refused');
select throws_ok(
  format($$insert into app.seats (date_id, seat_no, concert_id, price) values (%s, 7, %s, 100)$$, :date_id, :concert),
  '23505', NULL, 'the same seat twice is refused');

select * from finish();
rollback;
