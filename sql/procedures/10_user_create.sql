create or replace function api.user_create(name text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_user app.users;
begin
  if user_create.name is null or length(btrim(user_create.name)) not between 1 and 100 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'name must be 1 to 100 characters';
  end if;
  insert into app.users (name) values (btrim(user_create.name)) returning * into v_user;
  return jsonb_build_object('userId', v_user.user_id, 'name', v_user.name, 'balance', v_user.balance);
end
$$;

comment on function api.user_create(text) is
'Creates a user with a zero balance (POST /api/users).
Parameters: name, 1 to 100 characters after trimming.
Result: {"userId", "name", "balance": 0}.
Errors: CR001 bad name.';

revoke execute on function api.user_create(text) from public;
grant execute on function api.user_create(text) to boxoffice_api;
