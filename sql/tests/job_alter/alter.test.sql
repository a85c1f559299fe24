-- api.job_alter changes only what it is given; bad input is CR001 before an
-- unknown name is CR105.
begin;
select plan(10);

insert into app.jobs (name, schedule, command) values ('test.alter', '* * * * *', 'select 1');

set local role boxoffice_owner;

select lives_ok($$select api.job_alter('test.alter', schedule => '0 3 * * *')$$, 'alters the schedule');
select results_eq($$select schedule, command, active from app.jobs where name = 'test.alter'$$,
                  $$values ('0 3 * * *', 'select 1', true)$$, 'only the schedule changed');
select lives_ok($$select api.job_alter('test.alter', command => 'select 2')$$, 'alters the command');
select lives_ok($$select api.job_alter('test.alter', active => false)$$, 'pauses the job');
select results_eq($$select schedule, command, active from app.jobs where name = 'test.alter'$$,
                  $$values ('0 3 * * *', 'select 2', false)$$, 'command and active changed, schedule kept');

select throws_ok($$select api.job_alter('test.alter', schedule => '61 * * * *')$$, 'CR001', NULL, 'a bad schedule is CR001');
select throws_ok($$select api.job_alter('test.alter', command => '')$$, 'CR001', NULL, 'an empty command is CR001');
select throws_ok($$select api.job_alter('test.no_such_job', active => true)$$, 'CR105', NULL, 'an unknown job is CR105');
select throws_ok($$select api.job_alter('test.no_such_job', schedule => 'nonsense')$$, 'CR001', NULL,
                 'a bad schedule is reported before an unknown job');
select is((select schedule from app.jobs where name = 'test.alter'), '0 3 * * *', 'failed calls changed nothing');

select * from finish();
rollback;
