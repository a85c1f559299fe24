-- No function of api or app is executable by PUBLIC: the server's role gets
-- EXECUTE on the api functions it calls, one grant each, and nobody else does.
begin;
select plan(3);

select is(
  (select coalesce(string_agg(p.oid::regprocedure::text, ', ' order by p.oid::regprocedure::text), '')
   from pg_proc p
   join pg_namespace n on n.oid = p.pronamespace
   cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
   where n.nspname in ('api', 'app') and a.grantee = 0 and a.privilege_type = 'EXECUTE'),
  '', 'no api or app function is executable by PUBLIC');

select ok(has_function_privilege('boxoffice_api', 'api.payment_create(uuid, bigint, bigint, text)', 'execute'),
  'the server''s role may execute an api function it calls');
select ok(not has_function_privilege('boxoffice_api', 'api.job_schedule(text, text, text)', 'execute'),
  'but not the DBA-only ones');

select * from finish();
rollback;
