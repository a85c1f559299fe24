-- api.user_create: POST /api/users
select api.user_create('pgbench');
