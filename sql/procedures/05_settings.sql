-- The policy (app.settings, 0006): listed for anyone the server runs as,
-- changed only by the owner. Every function reads it through app.setting on
-- each call, so a change reaches every instance with the next call.

-- The text a DBA writes for a value: user_keys reads required/optional.
create or replace function app.setting_text(name text, value bigint)
returns text
language sql
immutable
security invoker
set search_path = ''
as $$
  select case when setting_text.name = 'user_keys'
              then case setting_text.value when 1 then 'required' when 0 then 'optional' end
              else setting_text.value::text end
$$;

comment on function app.setting_text(text, bigint) is
'The value of setting name as text: required/optional for user_keys, the number otherwise.';

create or replace function api.setting_list()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object('settings', coalesce(jsonb_agg(jsonb_build_object(
    'name', s.name, 'value', app.setting_text(s.name, s.value), 'updatedAt', app.iso(s.updated_at))
    order by s.name), '[]'::jsonb))
  from app.settings s
$$;

comment on function api.setting_list() is
'The policy every function reads: {"settings": [{"name", "value", "updatedAt"}]} by name.
Executable by boxoffice_api, which compares it with its environment at start (read only).
Parameters: none. Errors: none.';

revoke execute on function api.setting_list() from public;
grant execute on function api.setting_list() to boxoffice_api;

create or replace function api.setting_set(name text, value text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_value bigint;
begin
  if setting_set.name is null or setting_set.value is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'name and value are required';
  end if;
  if setting_set.name = 'user_keys' then
    v_value := case lower(btrim(setting_set.value)) when 'required' then 1 when 'optional' then 0 end;
  elsif btrim(setting_set.value) ~ '^[0-9]{1,18}$' then
    v_value := btrim(setting_set.value)::bigint;
  end if;
  if v_value is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = format('%s is not a valid value for %s', setting_set.value, setting_set.name);
  end if;
  begin
    update app.settings s set value = v_value, updated_at = now()
    where s.name = setting_set.name and s.value is distinct from v_value;
  exception when check_violation then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = format('%s is out of range for %s', setting_set.value, setting_set.name);
  end;
  perform from app.settings s where s.name = setting_set.name;
  if not found then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = format('there is no setting %s', setting_set.name);
  end if;
  -- The admission interval is the queue_admit job's schedule, which every
  -- instance's scheduler reads.
  if setting_set.name = 'admit_interval_seconds' then
    update app.jobs j set schedule = v_value || ' seconds'
    where j.name = 'queue_admit' and j.schedule is distinct from v_value || ' seconds';
  end if;
  return jsonb_build_object('name', setting_set.name, 'value', app.setting_text(setting_set.name, v_value));
end
$$;

comment on function api.setting_set(text, text) is
'Changes one policy value; every function reads it on its next call.
For DBAs: owner only, NOT executable by boxoffice_api; run as boxoffice_owner or a superuser.
Parameters: name (hold_seconds, active_token_seconds, waiting_idle_seconds, queue_active_cap,
admit_interval_seconds, charge_max, balance_max, user_keys, max_holds_per_token, new_users_per_minute);
value, a whole number in the name''s range (required or optional for user_keys).
admit_interval_seconds also reschedules the queue_admit job.
Result: {"name", "value"}.
Errors: CR001 unknown name, malformed value or value out of range.';

revoke execute on function api.setting_set(text, text) from public;
