-- api.job_runs_abandon(instance) left the open runs under the new leader's
-- own name alone, so a process restarted under a fixed INSTANCE_NAME never
-- failed its predecessor's. It now takes the run ids the caller still has in
-- flight instead (api.job_runs_abandon(text, bigint[]), sql/procedures/80_jobs.sql,
-- applied after this file); the old signature goes, or a call with one
-- argument would be ambiguous between the two.
drop function if exists api.job_runs_abandon(text);
