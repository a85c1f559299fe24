-- Serves api.job_runs(job_name => ...) (where job_id = $1 order by
-- started_at desc, run_id desc limit max_runs) and the on-delete-cascade of
-- job_runs_job_id_fkey when api.job_unschedule deletes a job. Expected plan:
--   Limit -> Incremental Sort (Presorted Key: started_at)
--     -> Index Scan Backward using job_runs_job_id_started_at_idx on job_runs
--          Index Cond: (job_id = $1)
create index concurrently if not exists job_runs_job_id_started_at_idx
  on app.job_runs (job_id, started_at);
