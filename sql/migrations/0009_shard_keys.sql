-- Shard-ready keys for the seats (docs/scaling.md).
--
-- Distributed by concert_id (Citus, or any engine that co-locates rows by
-- one column), every unique key must include the distribution column, and a
-- foreign key can be checked on one shard only when both sides carry it. The
-- seats' primary key was (date_id, seat_no), and a reservation named its seat
-- by those two columns. Both now include concert_id.
--
-- This costs nothing and changes no rule: a seat's (date_id, concert_id) must
-- be a row of app.concert_dates, whose key is date_id alone, so date_id
-- determines concert_id and (date_id, seat_no, concert_id) is unique exactly
-- when (date_id, seat_no) is. concert_id comes last, so the index serves every
-- lookup by (date_id, seat_no) as before, under the same name; it is 8 bytes
-- wider per seat, and concert_id never changes, so seat updates stay HOT.
--
-- The one reference between two concert tables still without concert_id is a
-- payment's reservation (payments_reservation_id_fkey): giving it one means a
-- second unique index on every reservation, or a primary key
-- (reservation_id, concert_id) that no longer makes reservation_id unique on
-- its own; that is left to the move itself (docs/scaling.md).

alter table app.reservations drop constraint reservations_date_id_seat_no_fkey;

alter table app.seats
  drop constraint seats_pkey,
  add constraint seats_pkey primary key (date_id, seat_no, concert_id);

alter table app.reservations
  add constraint reservations_date_id_seat_no_concert_id_fkey foreign key (date_id, seat_no, concert_id)
    references app.seats (date_id, seat_no, concert_id);
