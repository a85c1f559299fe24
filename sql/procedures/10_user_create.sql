-- Users and their API keys.
--
-- A key is "bo_" and the 64 hex digits of two random UUIDs (gen_random_uuid,
-- 122 random bits each, from the operating system's random source): 244
-- random bits.
-- Only its SHA-256 is stored (app.users.api_key_hash); the key itself is shown
-- once, by api.user_create or api.user_key_issue. A presented key is checked
-- by looking up the hash it has, never by comparing it with a stored key.

-- A fresh key and its hash.
create or replace function app.user_key_new(out api_key text, out api_key_hash bytea)
language plpgsql
volatile
security invoker
set search_path = ''
as $$
begin
  api_key := 'bo_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
  api_key_hash := sha256(convert_to(api_key, 'UTF8'));
end
$$;

comment on function app.user_key_new() is
'A new API key ("bo_" and 64 hex digits, 244 random bits) and its SHA-256, the only form stored.';

-- The user a join acts for (docs/api.md, API keys).
create or replace function app.user_key_check(api_key text, user_id bigint)
returns bigint
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  v_user_id bigint;
begin
  if user_key_check.api_key is null then
    if app.setting('user_keys', 1) = 1 then
      raise exception using errcode = 'CR305', message = 'api key missing',
        detail = 'send the user''s API key as Authorization: Bearer <apiKey>';
    end if;
    if user_key_check.user_id is null then
      raise exception using errcode = 'CR001', message = 'bad request',
        detail = 'userId is required without an API key';
    end if;
    return user_key_check.user_id;
  end if;
  select u.user_id into v_user_id
  from app.users u
  where u.api_key_hash = sha256(convert_to(user_key_check.api_key, 'UTF8'));
  if not found then
    raise exception using errcode = 'CR306', message = 'api key invalid',
      detail = 'no user has this API key';
  end if;
  if user_key_check.user_id is not null and user_key_check.user_id <> v_user_id then
    raise exception using errcode = 'CR304', message = 'token forbidden',
      detail = 'userId is not the API key''s user';
  end if;
  return v_user_id;
end
$$;

comment on function app.user_key_check(text, bigint) is
'The user a join acts for: the owner of api_key, which user_id (optional) must match.
Without a key: user_id when user_keys is optional, else CR305.
Raises CR305 (no key and keys required), CR306 (no user has the key), CR304 (user_id is another user),
CR001 (neither key nor user_id).';

create or replace function api.user_create(name text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  -- whitespace: ASCII's, the no-break and typographic spaces, the line and
  -- paragraph separators, the ideographic space, and the invisible
  -- zero-width space and byte-order mark
  v_blank constant text := '[\s\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+';
  -- the name trimmed of it at both ends
  v_name text := regexp_replace(user_create.name, '^' || v_blank || '|' || v_blank || '$', '', 'g');
  v_user app.users;
  v_key record;
begin
  if v_name is null or length(v_name) not between 1 and 100 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'name must be 1 to 100 characters, not only blanks';
  end if;
  if v_name ~ '[\x01-\x1f\x7f-\x9f]' then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'name must not contain control characters (tab, newline and the like)';
  end if;
  select * into v_key from app.user_key_new();
  insert into app.users (name, api_key_hash) values (v_name, v_key.api_key_hash)
  returning * into v_user;
  return jsonb_build_object('userId', v_user.user_id, 'name', v_user.name, 'balance', v_user.balance,
                            'apiKey', v_key.api_key);
end
$$;

comment on function api.user_create(text) is
'Creates a user with a zero balance and an API key (POST /api/users).
Parameters: name, 1 to 100 characters once trimmed of whitespace (Unicode''s too), no control characters.
Result: {"userId", "name", "balance": 0, "apiKey"}; the key is shown this once (only its hash is kept).
Errors: CR001 bad name.';

revoke execute on function api.user_create(text) from public;
grant execute on function api.user_create(text) to boxoffice_api;

create or replace function api.user_key_issue(user_id bigint)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_key record;
begin
  if user_key_issue.user_id is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'user_id is required';
  end if;
  select * into v_key from app.user_key_new();
  update app.users u set api_key_hash = v_key.api_key_hash where u.user_id = user_key_issue.user_id;
  if not found then
    raise exception using errcode = 'CR101', message = 'user not found',
      detail = 'no user ' || user_key_issue.user_id || ' exists';
  end if;
  return jsonb_build_object('userId', user_key_issue.user_id, 'apiKey', v_key.api_key);
end
$$;

comment on function api.user_key_issue(bigint) is
'Issues the user a new API key; the old one stops working at once (boxoffice users key USER_ID).
For DBAs: owner only, NOT executable by boxoffice_api; run as boxoffice_owner or a superuser.
Parameters: user_id.
Result: {"userId", "apiKey"}; the key is shown this once.
Errors: CR001 user_id missing, CR101 no such user.';

revoke execute on function api.user_key_issue(bigint) from public;
