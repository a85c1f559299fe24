-- api.sale_schedule: sets or moves a concert's opening until it is done.
begin;
select plan(8);

select tests.concert() as concert_id \gset
select is(api.sale_schedule(:concert_id, now() + interval '1 day') ->> 'state', 'SCHEDULED', 'scheduled a day ahead');
select is(api.sale_schedule(:concert_id, now() + interval '2 hours') ->> 'saleOpensAt', app.iso(now() + interval '2 hours'),
  'moved earlier before it opened');
select is(api.sale_schedule(:concert_id, now() - interval '1 second') ->> 'state', 'OPENING',
  'moved into the past: OPENING, the next admission run opens it');
select is((select sale_opens_at from app.concerts where concert_id = :concert_id), now() - interval '1 second', 'stored');
select throws_ok(format('select api.sale_schedule(%s, null)', :concert_id), 'CR001', null, 'no time: CR001');
select throws_ok('select api.sale_schedule(null, now())', 'CR001', null, 'no concert: CR001');
select throws_ok('select api.sale_schedule(-1, now())', 'CR102', null, 'an unknown concert: CR102');
set local role boxoffice_api;
select throws_ok(format('select api.sale_schedule(%s, now())', :concert_id), '42501', null,
  'the server''s role may not schedule a sale');
reset role;

select * from finish();
rollback;
