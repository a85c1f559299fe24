# A throwaway PostgreSQL 15 cluster for tests and benchmarks, owned by the
# postgres system user when we are root (initdb refuses root). Sets PGHOST,
# PGPORT, PGUSER and CLUSTER_DIR; cluster_stop removes it.

PG_BIN=/usr/lib/postgresql/15/bin

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_start() {
  CLUSTER_DIR=$(mktemp -d /tmp/boxoffice-pg.XXXXXX)
  chmod 755 "$CLUSTER_DIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$CLUSTER_DIR"
  as_pg "$PG_BIN/initdb" -D "$CLUSTER_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-instructions >/dev/null
  PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >>"$CLUSTER_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$CLUSTER_DIR'
max_connections = 400
shared_buffers = 512MB
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = 'pg_cron,pg_stat_statements'
cron.database_name = 'cron_test'
cron.use_background_workers = on
max_worker_processes = 32
CONF
  as_pg "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -l "$CLUSTER_DIR/postgres.log" -w start >/dev/null
  export PGHOST=$CLUSTER_DIR PGPORT PGUSER=postgres CLUSTER_DIR
}

cluster_stop() {
  [ -n "${CLUSTER_DIR:-}" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$CLUSTER_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$CLUSTER_DIR"
}
