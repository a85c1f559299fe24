export PGHOST=/tmp/boxoffice-pg.DCNyUo PGPORT=52847 PGUSER=postgres CLUSTER_DIR=/tmp/boxoffice-pg.DCNyUo
