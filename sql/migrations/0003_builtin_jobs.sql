-- The built-in jobs. Schedules use pg_cron's syntax: five cron fields, or
-- 'N seconds' (1..59). The commands are plain api calls, so pg_cron can run
-- the same jobs instead (README, "Scheduling with pg_cron").
insert into app.jobs (name, schedule, command) values
  ('queue_admit',    '1 seconds', 'select api.queue_admit()'),
  ('holds_expire',   '2 seconds', 'select api.holds_expire()'),
  ('tokens_expire',  '5 seconds', 'select api.tokens_expire()'),
  ('outbox_dispatch','2 seconds', 'select api.outbox_dispatch()'),
  ('job_runs_prune', '17 3 * * *', 'select api.job_runs_prune()');
