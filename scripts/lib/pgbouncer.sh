# PgBouncer in transaction mode in front of a PostgreSQL, for tests and
# benchmarks. Debian's pgbouncer (1.18) refuses to run as root, so it runs as
# the postgres system user (as_pg, from cluster.sh) with its config, socket,
# log and pid file in a temp folder of its own.
#
#   pgbouncer_start PG_HOST PG_PORT [POOL_SIZE]
#
# Every database name is passed through (the `*` entry) to PG_HOST:PG_PORT,
# every user is admitted without a password (auth_type trust, the users listed
# in the auth file: postgres, boxoffice_api, boxoffice_owner), and each
# database/user pair gets POOL_SIZE (default 20) server sessions. Sets
# PGBOUNCER_PORT (on 127.0.0.1) and PGBOUNCER_DIR; pgbouncer_stop ends it and
# removes the folder.

pgbouncer_start() {
  local pg_host=$1 pg_port=$2 pool_size=${3:-20}
  PGBOUNCER_DIR=$(mktemp -d /tmp/boxoffice-pgbouncer.XXXXXX)
  chmod 755 "$PGBOUNCER_DIR"
  PGBOUNCER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf '"postgres" ""\n"boxoffice_api" ""\n"boxoffice_owner" ""\n' >"$PGBOUNCER_DIR/users.txt"
  cat >"$PGBOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
* = host=$pg_host port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir = $PGBOUNCER_DIR
auth_type = trust
auth_file = $PGBOUNCER_DIR/users.txt
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 2000
max_db_connections = 0
server_reset_query =
server_idle_timeout = 10
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = $PGBOUNCER_DIR/pgbouncer.log
pidfile = $PGBOUNCER_DIR/pgbouncer.pid
admin_users = postgres
INI
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$PGBOUNCER_DIR"
  as_pg pgbouncer -d -q "$PGBOUNCER_DIR/pgbouncer.ini"
  local i
  for i in $(seq 1 50); do
    [ -s "$PGBOUNCER_DIR/pgbouncer.pid" ] && psql -X -q -h 127.0.0.1 -p "$PGBOUNCER_PORT" -U postgres -d pgbouncer -c "show version" >/dev/null 2>&1 && break
    sleep 0.1
  done
  [ -s "$PGBOUNCER_DIR/pgbouncer.pid" ] || { cat "$PGBOUNCER_DIR/pgbouncer.log" >&2; echo "pgbouncer did not start" >&2; return 1; }
  export PGBOUNCER_PORT PGBOUNCER_DIR
}

pgbouncer_stop() {
  [ -n "${PGBOUNCER_DIR:-}" ] || return 0
  if [ -s "$PGBOUNCER_DIR/pgbouncer.pid" ]; then
    kill "$(cat "$PGBOUNCER_DIR/pgbouncer.pid")" 2>/dev/null || true
    sleep 0.2
  fi
  rm -rf "$PGBOUNCER_DIR"
  unset PGBOUNCER_DIR PGBOUNCER_PORT
}
