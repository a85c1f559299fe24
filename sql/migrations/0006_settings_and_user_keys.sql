-- The policy in the database, and the users' API keys.
--
-- app.settings holds the policy every function reads (app.setting): one row
-- per name, validated here, owned by boxoffice_owner like every table, so
-- the server's role (EXECUTE only) can neither read nor change it, and no
-- session SET reaches it. A DBA changes a value with api.setting_set
-- (owner-only); boxoffice serve and migrate, connected as the owner, write
-- the values named in their environment at start.
create table app.settings (
  name       text not null,
  value      bigint not null,
  updated_at timestamptz not null default now(),
  constraint settings_pkey primary key (name),
  -- Every name the functions read, with its range; an unknown name is refused.
  constraint settings_value_check check (
    case name
      when 'hold_seconds' then value between 1 and 86400
      when 'active_token_seconds' then value between 1 and 86400
      when 'waiting_idle_seconds' then value between 3 and 86400
      when 'queue_active_cap' then value between 1 and 1000000
      when 'admit_interval_seconds' then value between 1 and 59
      when 'charge_max' then value between 1 and 1000000000
      when 'balance_max' then value between 1 and 1000000000
      when 'user_keys' then value in (0, 1)  -- 1 required, 0 optional
      when 'max_holds_per_token' then value between 1 and 50
      when 'new_users_per_minute' then value between 0 and 1000000
      else false
    end)
);

insert into app.settings (name, value) values
  ('hold_seconds', 300),
  ('active_token_seconds', 600),
  ('waiting_idle_seconds', 300),
  ('queue_active_cap', 100),
  ('admit_interval_seconds', 1),
  ('charge_max', 1000000),
  ('balance_max', 1000000000),
  ('user_keys', 1),
  ('max_holds_per_token', 4),
  ('new_users_per_minute', 0);

-- A user's API key, stored only as its SHA-256 (the key has 256 random bits,
-- so a plain hash is enough: there is nothing to brute-force). A join looks
-- the user up by the hash of the key it presents, so the comparison is an
-- index lookup of a digest, and an answer's timing says nothing about how
-- close a guess came. Null: the user has no key (users from before keys).
alter table app.users add column api_key_hash bytea;
alter table app.users add constraint users_api_key_hash_key unique (api_key_hash);
alter table app.users add constraint users_api_key_hash_check check (length(api_key_hash) = 32);
