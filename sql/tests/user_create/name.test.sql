-- api.user_create: the name is trimmed of whitespace (Unicode's too) and must
-- then be 1 to 100 characters with no control character; a refused name
-- makes no user.
begin;
select plan(12);

set local role boxoffice_api;
select is(api.user_create(E'  ann \t') ->> 'name', 'ann', 'ASCII blanks are trimmed');
select is(api.user_create(E'\u00a0Bo b\u3000\u200b') ->> 'name', 'Bo b',
  'no-break, ideographic and zero-width spaces are trimmed; a space inside stays');
select is(api.user_create(E'Zoë 李') ->> 'name', E'Zoë 李', 'letters of any script are kept');
select is(api.user_create(repeat('x', 100)) ->> 'name', repeat('x', 100), '100 characters is the most');
select is(api.user_create(E'  ' || repeat('x', 100) || E'\u3000') ->> 'name', repeat('x', 100),
  'the length is counted once trimmed');
reset role;
select count(*) as before from app.users \gset
set local role boxoffice_api;
select throws_ok(format('select api.user_create(%L)', E'\t'), 'CR001', 'bad request', 'a tab alone is no name');
select throws_ok(format('select api.user_create(%L)', E'\u00a0\u3000\u200b\ufeff'), 'CR001', 'bad request',
  'Unicode blanks alone are no name');
select throws_ok(format('select api.user_create(%L)', repeat('x', 101)), 'CR001', 'bad request', '101 characters');
select throws_ok('select api.user_create(null)', 'CR001', 'bad request', 'no name');
select throws_ok(format('select api.user_create(%L)', E'a\u0001b'), 'CR001', 'bad request', 'a control character');
select throws_ok(format('select api.user_create(%L)', E'ann\nbob'), 'CR001', 'bad request', 'a newline inside');
reset role;
select is((select count(*) from app.users), :'before'::bigint, 'no refused name made a user');

select * from finish();
rollback;
