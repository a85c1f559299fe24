-- The scheduler's run history (app.job_runs), modelled on pg_cron's
-- cron.job_run_details; the jobs themselves are in 80_jobs.sql. Called by the
-- scheduler inside `boxoffice serve` (role boxoffice_api) and by
-- `boxoffice jobs`: api.job_run_start, api.job_run_finish,
-- api.job_runs_abandon, api.job_runs, api.job_runs_prune.

create or replace function api.job_run_start(job_id bigint, instance text)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_run_id bigint;
begin
  if job_run_start.job_id is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'job_id is required';
  end if;
  if job_run_start.instance is null or length(btrim(job_run_start.instance)) not between 1 and 200 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'instance must be 1 to 200 characters';
  end if;
  -- key share: an unschedule waits for this insert instead of racing it
  perform from app.jobs j where j.job_id = job_run_start.job_id for key share;
  if not found then
    raise exception using errcode = 'CR105', message = 'job not found',
      detail = format('no job has id %s', job_run_start.job_id);
  end if;
  insert into app.job_runs (job_id, instance, status, started_at)
  values (job_run_start.job_id, btrim(job_run_start.instance), 'running', clock_timestamp())
  returning run_id into v_run_id;
  return v_run_id;
end
$$;

comment on function api.job_run_start(bigint, text) is
'Records that instance starts a run of job job_id now (clock_timestamp()), status running.
Parameters: job_id; instance, 1 to 200 characters, naming the server instance.
Result: the run_id, for api.job_run_finish.
Errors: CR001 missing argument, CR105 no such job.';

revoke execute on function api.job_run_start(bigint, text) from public;
grant execute on function api.job_run_start(bigint, text) to boxoffice_api;

create or replace function api.job_run_finish(run_id bigint, succeeded boolean, message text default null)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if job_run_finish.run_id is null or job_run_finish.succeeded is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'run_id and succeeded are required';
  end if;
  update app.job_runs r
  set status = case when job_run_finish.succeeded then 'succeeded' else 'failed' end,
      finished_at = clock_timestamp(),
      message = left(job_run_finish.message, 1000)
  where r.run_id = job_run_finish.run_id and r.status in ('starting', 'running');
  if not found then
    if exists (select from app.job_runs r where r.run_id = job_run_finish.run_id) then
      raise exception using errcode = 'CR001', message = 'bad request',
        detail = format('run %s has already finished', job_run_finish.run_id);
    end if;
    raise exception using errcode = 'CR105', message = 'job not found',
      detail = format('no job run has id %s (its job may have been unscheduled)', job_run_finish.run_id);
  end if;
end
$$;

comment on function api.job_run_finish(bigint, boolean, text) is
'Records the end of a run now (clock_timestamp()): status succeeded or failed, and message (the error, say) cut to 1000 characters.
Parameters: run_id from api.job_run_start; succeeded; message, optional.
Result: none.
Errors: CR001 missing argument or run already finished, CR105 no such run (its job was unscheduled meanwhile).';

revoke execute on function api.job_run_finish(bigint, boolean, text) from public;
grant execute on function api.job_run_finish(bigint, boolean, text) to boxoffice_api;

-- The (text) form left the open runs under the new leader's own name alone;
-- (text, bigint[]) takes the run ids the caller still has in flight. Dropped
-- here, in the one transaction that creates its replacement, or a call with
-- one argument would be ambiguous between the two.
drop function if exists api.job_runs_abandon(text);

create or replace function api.job_runs_abandon(instance text, keep_run_ids bigint[] default '{}')
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count integer;
begin
  if job_runs_abandon.instance is null or length(btrim(job_runs_abandon.instance)) not between 1 and 200 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'instance must be 1 to 200 characters';
  end if;
  -- a null element would make "<> all" null for every run and keep them all
  if job_runs_abandon.keep_run_ids is null or array_position(job_runs_abandon.keep_run_ids, null) is not null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'keep_run_ids must be an array of run ids without nulls (empty to keep none)';
  end if;
  -- every open run, whatever instance name it carries: a process restarted
  -- under a fixed INSTANCE_NAME left its predecessor's runs under this name
  update app.job_runs r
  set status = 'failed',
      finished_at = clock_timestamp(),
      message = format('abandoned: instance %s stopped leading before the run finished; failed by the new leader %s',
                       r.instance, btrim(job_runs_abandon.instance))
  where r.status in ('starting', 'running')
    and r.run_id <> all (job_runs_abandon.keep_run_ids);
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

comment on function api.job_runs_abandon(text, bigint[]) is
'Marks as failed every run still starting or running except the ones in keep_run_ids: the scheduler calls it when it becomes the leader, since only the lock holder starts runs and the lock passes only when the last leader''s session ended (pg_cron does the same for its own runs when it restarts). Runs of its own instance name are failed too (a process restarted under a fixed INSTANCE_NAME), except those this process still has in flight (it may lose and regain the lock while they go on), which it passes in keep_run_ids.
Parameters: instance, the new leader''s name, 1 to 200 characters, named in the message; keep_run_ids, the run_ids to leave alone, default none.
Result: how many runs were marked.
Errors: CR001 instance missing, keep_run_ids null or holding a null.';

revoke execute on function api.job_runs_abandon(text, bigint[]) from public;
grant execute on function api.job_runs_abandon(text, bigint[]) to boxoffice_api;

create or replace function api.job_runs(job_name text default null, max_runs integer default 50)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_job_id bigint;
  v_run_ids bigint[];
  v_runs jsonb;
begin
  if job_runs.max_runs is null or job_runs.max_runs not between 1 and 1000 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'max_runs must be 1 to 1000';
  end if;
  if job_runs.job_name is not null then
    select j.job_id into v_job_id from app.jobs j where j.name = btrim(job_runs.job_name);
    if not found then
      raise exception using errcode = 'CR105', message = 'job not found',
        detail = format('no job is named ''%s''', job_runs.job_name);
    end if;
  end if;
  -- two plain queries rather than one "v_job_id is null or ...", so that each
  -- keeps its index (see sql/indexes/job_runs_*.sql) under a generic plan
  if v_job_id is null then
    select array_agg(jr.run_id) into v_run_ids
    from (select r.run_id from app.job_runs r
          order by r.started_at desc, r.run_id desc
          limit job_runs.max_runs) jr;
  else
    select array_agg(jr.run_id) into v_run_ids
    from (select r.run_id from app.job_runs r
          where r.job_id = v_job_id
          order by r.started_at desc, r.run_id desc
          limit job_runs.max_runs) jr;
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'runId', r.run_id, 'job', j.name, 'instance', r.instance, 'status', r.status,
           'startedAt', app.iso(r.started_at), 'finishedAt', app.iso(r.finished_at),
           'durationMs', round(extract(epoch from r.finished_at - r.started_at) * 1000)::bigint,
           'message', r.message)
         order by r.started_at desc, r.run_id desc), '[]'::jsonb)
  into v_runs
  from app.job_runs r
  join app.jobs j on j.job_id = r.job_id
  where r.run_id = any (v_run_ids);
  return jsonb_build_object('runs', v_runs);
end
$$;

comment on function api.job_runs(text, integer) is
'Recent runs, newest first, of one job or of all (`boxoffice jobs runs`).
Parameters: job_name, optional (all jobs when null); max_runs 1 to 1000, default 50.
Result: {"runs": [{"runId", "job", "instance", "status", "startedAt", "finishedAt", "durationMs", "message"}]}; finishedAt and durationMs are null while running.
Errors: CR001 max_runs out of range, CR105 no job of that name.';

revoke execute on function api.job_runs(text, integer) from public;
grant execute on function api.job_runs(text, integer) to boxoffice_api;

create or replace function app.job_runs_prune(as_of timestamptz default null)
returns integer
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  v_deleted integer;
begin
  delete from app.job_runs r
  where r.started_at < coalesce(job_runs_prune.as_of, now()) - interval '7 days';
  get diagnostics v_deleted = row_count;
  return v_deleted;
end
$$;

comment on function app.job_runs_prune(timestamptz) is
'The rule of api.job_runs_prune with its clock as_of (null: now()), for tests and DBAs; not executable by boxoffice_api.
Deletes the runs that started more than 7 days before as_of (the built-in job job_runs_prune, daily).
Parameters: as_of, default now().
Result: how many runs were deleted.
Errors: none.';

revoke execute on function app.job_runs_prune(timestamptz) from public;

create or replace function api.job_runs_prune(
  )
returns integer
language sql
volatile
security definer
set search_path = ''
as $$
  select app.job_runs_prune(as_of => now())
$$;

comment on function api.job_runs_prune() is
'Deletes the runs that started more than 7 days before as_of (the built-in job job_runs_prune, daily).
Parameters: none; the clock is the database''s.
Result: how many runs were deleted.
Errors: none.';

revoke execute on function api.job_runs_prune() from public;
grant execute on function api.job_runs_prune() to boxoffice_api;
