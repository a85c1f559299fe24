-- migrate: as connecting user (creates the roles; needs a superuser or CREATEROLE)
-- Roles and schemas.
--
-- boxoffice_owner owns schema app (tables, private helpers) and schema api
-- (the functions HTTP and DBAs call). The api functions are SECURITY DEFINER,
-- owned by boxoffice_owner, so that boxoffice_api, the server's login role,
-- needs nothing but EXECUTE on them: it holds no table privileges at all.
-- Roles are cluster-wide, so they are created only when missing.
do $$
begin
  if not exists (select from pg_roles where rolname = 'boxoffice_owner') then
    create role boxoffice_owner nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'boxoffice_api') then
    create role boxoffice_api login;
  end if;
end
$$;

create schema app authorization boxoffice_owner;
create schema api authorization boxoffice_owner;

revoke all on schema app from public;
revoke all on schema api from public;
grant usage on schema api to boxoffice_api;

-- Functions are executable by PUBLIC by default. Revoke that for every
-- function boxoffice_owner creates (a per-schema ALTER DEFAULT PRIVILEGES can
-- only add privileges, so this must be the global form); each api file then
-- grants EXECUTE to boxoffice_api explicitly.
alter default privileges for role boxoffice_owner revoke execute on functions from public;
