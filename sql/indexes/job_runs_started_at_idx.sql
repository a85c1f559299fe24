-- Serves api.job_runs_prune (delete ... where started_at < now() - 7 days) and
-- api.job_runs without a job_name (order by started_at desc, run_id desc
-- limit max_runs), over a week of runs (about 700 000 rows with the built-in
-- one-second jobs). Expected plans:
--   prune:   Delete -> Index Scan using job_runs_started_at_idx on job_runs
--              Index Cond: (started_at < (now() - '7 days'))
--   listing: Limit -> Incremental Sort (Presorted Key: started_at)
--              -> Index Scan Backward using job_runs_started_at_idx on job_runs
create index concurrently if not exists job_runs_started_at_idx
  on app.job_runs (started_at);
