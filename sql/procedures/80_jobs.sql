-- The scheduler's jobs (app.jobs), modelled on pg_cron's cron.schedule /
-- cron.unschedule / cron.alter_job; their runs are in 81_job_runs.sql.
--
-- Two audiences:
--   * DBAs: api.job_schedule, api.job_unschedule, api.job_alter. Owner only:
--     NOT granted to boxoffice_api, so the server (and anyone holding its
--     credentials) cannot change what runs. Run them as boxoffice_owner
--     (`set role boxoffice_owner`) or as a superuser.
--   * The scheduler inside `boxoffice serve` (role boxoffice_api): api.job_list.
--
-- Schedules are validated here with the same rules as the Swift parser
-- (Sources/BoxOffice/Scheduler/CronSchedule.swift), which are pg_cron's, so a
-- job accepted here can also be handed to pg_cron unchanged. Both parsers
-- must judge the schedules of sql/testing/cron_cases.tsv alike: the Swift
-- tests (CronScheduleTests) and pgTAP (sql/tests/job_schedule/shared_cases)
-- read that one table.

-- Why schedule is not a valid pg_cron schedule, or null when it is.
-- Accepted: pg_cron's interval form 'N seconds' (or 'N second'), N 1..59;
-- the macros @yearly @annually @monthly @weekly @daily @midnight @hourly
-- (lowercase, as pg_cron); or five fields separated by blanks:
--   minute 0-59, hour 0-23, day of month 1-31 (or $ alone: the last day),
--   month 1-12 or JAN-DEC, day of week 0-7 (0 and 7 are Sunday) or SUN-SAT.
-- Each field is a comma list of items: *, a number or name, a range a-b;
-- * and ranges may take a step /n (n from 1 to the field's maximum).
-- Stricter than pg_cron in two ways, both of which pg_cron would accept
-- silently: a range must not run backwards (5-1 matches nothing in pg_cron),
-- and nothing may follow the fifth field. @reboot is refused: the scheduler
-- has no start event to run it on.
create or replace function app.job_schedule_error(schedule text)
returns text
language plpgsql
immutable
security invoker
set search_path = ''
as $$
declare
  v_text   text := btrim(job_schedule_error.schedule, E' \t\r\n');
  v_labels constant text[] := array['minute', 'hour', 'day-of-month', 'month', 'day-of-week'];
  v_lows   constant integer[] := array[0, 0, 1, 1, 0];
  v_highs  constant integer[] := array[59, 23, 31, 12, 7];
  v_fields text[];
  v_field  text;
  v_where  text;
  v_item   text;
  v_parts  text[];
  v_bounds text[];
  v_value  integer;
  v_from   integer;
  v_to     integer;
  v_step   integer;
begin
  if v_text is null or v_text = '' then
    return 'schedule is empty';
  end if;

  if v_text ~* '^[0-9]+[ \t]*seconds?$' then
    if substring(v_text from '^[0-9]+')::numeric not between 1 and 59 then
      return format('''%s'': the seconds form takes 1 to 59 seconds', v_text);
    end if;
    return null;
  end if;

  if left(v_text, 1) = '@' then
    if v_text in ('@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly') then
      return null;
    elsif v_text in ('@reboot', '@restart') then
      return format('''%s'' is not supported: the scheduler has no start event to run it on', v_text);
    end if;
    return format('unknown macro ''%s''; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly',
                  v_text);
  end if;

  v_fields := regexp_split_to_array(v_text, '[ \t]+');
  if cardinality(v_fields) <> 5 then
    return format('''%s'' has %s field(s); expected five (minute hour day-of-month month day-of-week) or ''N seconds''',
                  v_text, cardinality(v_fields));
  end if;

  for i in 1 .. 5 loop
    v_field := v_fields[i];
    v_where := format('%s field ''%s''', v_labels[i], v_field);
    if i = 3 and v_field = '$' then
      continue;
    elsif i = 3 and strpos(v_field, '$') > 0 then
      return v_where || ': $ (the last day of the month) must stand alone';
    end if;
    foreach v_item in array string_to_array(v_field, ',') loop
      if v_item = '' then
        return v_where || ': empty list item';
      end if;
      v_parts := string_to_array(v_item, '/');
      if cardinality(v_parts) > 2 then
        return format('%s: ''%s'' has more than one /', v_where, v_item);
      end if;

      if v_parts[1] = '*' then
        v_from := v_lows[i];
        v_to := v_highs[i];
      else
        v_bounds := coalesce(string_to_array(v_parts[1], '-'), '{}');
        if cardinality(v_bounds) = 0 or cardinality(v_bounds) > 2 then
          return format('%s: ''%s'' is not a number, a name, a range a-b or *', v_where, v_parts[1]);
        end if;
        for b in 1 .. cardinality(v_bounds) loop
          if v_bounds[b] = '' then
            return format('%s: ''%s'' is missing a number', v_where, v_item);
          elsif v_bounds[b] ~ '^[0-9]+$' then
            v_value := least(v_bounds[b]::numeric, 1000000)::integer;
          elsif i = 4 and upper(v_bounds[b]) = any (array['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN',
                                                         'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']) then
            v_value := array_position(array['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN',
                                            'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], upper(v_bounds[b]));
          elsif i = 5 and upper(v_bounds[b]) = any (array['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']) then
            v_value := array_position(array['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], upper(v_bounds[b])) - 1;
          else
            return format('%s: ''%s'' is not %s', v_where, v_bounds[b],
                          case i when 4 then 'a number or a month name (JAN-DEC)'
                                 when 5 then 'a number or a weekday name (SUN-SAT)'
                                 else 'a number' end);
          end if;
          if v_value not between v_lows[i] and v_highs[i] then
            return format('%s: %s is out of range %s-%s', v_where, v_bounds[b], v_lows[i], v_highs[i]);
          end if;
          if b = 1 then
            v_from := v_value;
          end if;
          v_to := v_value;
        end loop;
        if cardinality(v_parts) = 2 and cardinality(v_bounds) = 1 then
          return format('%s: a step needs * or a range before it, as in */15 or 0-30/15, not ''%s''', v_where, v_item);
        end if;
        if v_from > v_to then
          return format('%s: range ''%s'' runs backwards', v_where, v_parts[1]);
        end if;
      end if;

      if cardinality(v_parts) = 2 then
        if v_parts[2] !~ '^[0-9]+$' then
          return format('%s: step ''%s'' is not a number', v_where, v_parts[2]);
        end if;
        v_step := least(v_parts[2]::numeric, 1000000)::integer;
        if v_step not between 1 and v_highs[i] then
          return format('%s: step %s is out of range 1-%s', v_where, v_parts[2], v_highs[i]);
        end if;
      end if;
    end loop;
  end loop;
  return null;
end
$$;

comment on function app.job_schedule_error(text) is
'Why schedule is not a valid pg_cron schedule (five cron fields, a macro such as @daily, or ''N seconds'' with N 1..59), or null when it is valid.';

revoke execute on function app.job_schedule_error(text) from public;

-- CR001 unless name, schedule and command are all well formed (nulls pass:
-- job_alter leaves a null argument unchanged).
create or replace function app.job_check(name text, schedule text, command text)
returns void
language plpgsql
immutable
security invoker
set search_path = ''
as $$
declare
  v_error text;
begin
  if job_check.name is not null and length(btrim(job_check.name)) not between 1 and 100 then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'a job name must be 1 to 100 characters';
  end if;
  if job_check.schedule is not null then
    v_error := app.job_schedule_error(job_check.schedule);
    if v_error is not null then
      raise exception using errcode = 'CR001', message = 'bad request',
        detail = 'invalid schedule: ' || v_error;
    end if;
  end if;
  if job_check.command is not null and btrim(job_check.command, E' \t\r\n;') = '' then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'a job command must not be empty';
  end if;
end
$$;

comment on function app.job_check(text, text, text) is
'Raises CR001 when name (1 to 100 characters), schedule (app.job_schedule_error) or command (not empty) is malformed; null arguments pass.';

revoke execute on function app.job_check(text, text, text) from public;

create or replace function api.job_schedule(name text, schedule text, command text)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_job_id bigint;
begin
  if job_schedule.name is null or job_schedule.schedule is null or job_schedule.command is null then
    raise exception using errcode = 'CR001', message = 'bad request',
      detail = 'name, schedule and command are all required';
  end if;
  perform app.job_check(job_schedule.name, job_schedule.schedule, job_schedule.command);
  insert into app.jobs as j (name, schedule, command)
  values (btrim(job_schedule.name), btrim(job_schedule.schedule, E' \t\r\n'), btrim(job_schedule.command))
  on conflict on constraint jobs_name_key
  do update set schedule = excluded.schedule, command = excluded.command
  returning j.job_id into v_job_id;
  return v_job_id;
end
$$;

comment on function api.job_schedule(text, text, text) is
'Schedules a job, or changes the schedule and command of the job with that name (like pg_cron''s cron.schedule; active is left as it is).
For DBAs: owner only, NOT executable by boxoffice_api; run as boxoffice_owner or a superuser.
The command runs on the server''s connections as boxoffice_api, so it can call only api functions, e.g. ''select api.holds_expire()''.
Parameters: name 1 to 100 characters; schedule five cron fields (minute hour day-of-month month day-of-week: *, numbers, a-b, lists, steps /n, JAN-DEC, SUN-SAT, $ for the last day of the month), a macro (@yearly @annually @monthly @weekly @daily @midnight @hourly) or ''N seconds'' (1 to 59), evaluated in UTC; command non-empty SQL.
Result: the job_id.
Errors: CR001 missing or malformed name, schedule or command.';

revoke execute on function api.job_schedule(text, text, text) from public;

create or replace function api.job_unschedule(name text)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if job_unschedule.name is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'name is required';
  end if;
  delete from app.jobs j where j.name = btrim(job_unschedule.name);
  if not found then
    raise exception using errcode = 'CR105', message = 'job not found',
      detail = format('no job is named ''%s''', job_unschedule.name);
  end if;
  return true;
end
$$;

comment on function api.job_unschedule(text) is
'Deletes the job with that name and its run history (like pg_cron''s cron.unschedule). A run in progress finishes, unrecorded.
For DBAs: owner only, NOT executable by boxoffice_api; run as boxoffice_owner or a superuser.
Parameters: name.
Result: true.
Errors: CR001 name missing, CR105 no such job.';

revoke execute on function api.job_unschedule(text) from public;

create or replace function api.job_alter(
  name text,
  schedule text default null,
  command text default null,
  active boolean default null)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if job_alter.name is null then
    raise exception using errcode = 'CR001', message = 'bad request', detail = 'name is required';
  end if;
  perform app.job_check(null, job_alter.schedule, job_alter.command);
  update app.jobs j
  set schedule = coalesce(btrim(job_alter.schedule, E' \t\r\n'), j.schedule),
      command = coalesce(btrim(job_alter.command), j.command),
      active = coalesce(job_alter.active, j.active)
  where j.name = btrim(job_alter.name);
  if not found then
    raise exception using errcode = 'CR105', message = 'job not found',
      detail = format('no job is named ''%s''', job_alter.name);
  end if;
end
$$;

comment on function api.job_alter(text, text, text, boolean) is
'Changes a job''s schedule, command or active flag; a null argument leaves that value as it is (like pg_cron''s cron.alter_job). active = false pauses the job.
For DBAs: owner only, NOT executable by boxoffice_api; run as boxoffice_owner or a superuser.
Parameters: name; schedule and command as for api.job_schedule; active.
Result: none.
Errors: CR001 name missing or malformed schedule or command, CR105 no such job.';

revoke execute on function api.job_alter(text, text, text, boolean) from public;

create or replace function api.job_list()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object('jobs', coalesce(jsonb_agg(jsonb_build_object(
           'jobId', j.job_id, 'name', j.name, 'schedule', j.schedule,
           'command', j.command, 'active', j.active) order by j.job_id), '[]'::jsonb))
  from app.jobs j
$$;

comment on function api.job_list() is
'All jobs, active or not, by jobId: the scheduler reloads this every few seconds, so changes made in SQL apply without a restart (`boxoffice jobs list`).
Parameters: none.
Result: {"jobs": [{"jobId", "name", "schedule", "command", "active"}]}.
Errors: none.';

revoke execute on function api.job_list() from public;
grant execute on function api.job_list() to boxoffice_api;
