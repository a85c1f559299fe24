# shellcheck shell=bash
# What a benchmark script under bench/ starts with (source it from the
# repository's root): the Swift toolchain, PostgreSQL and pg_cron
# (scripts/lib/cluster.sh preloads it) installed when missing, the cluster
# helpers, TMPDIR, and bench_binary.
source scripts/lib/install.sh
source scripts/lib/cluster.sh
need_swift
need_server
need_debian postgresql-15-cron
export TMPDIR=${TMPDIR:-/tmp}

# Sets bin to the binary to measure: BOXOFFICE_BIN when set, else a release
# build of the working tree (its log in $TMPDIR/boxoffice-NAME-build.log).
bench_binary() { # NAME
  if [ -n "${BOXOFFICE_BIN:-}" ]; then
    bin=$BOXOFFICE_BIN
    return
  fi
  echo "== build (release)"
  local log=$TMPDIR/boxoffice-$1-build.log
  swift build -c release --product boxoffice >"$log" 2>&1 \
    || { grep -E "error:" "$log" | sort -u | head -30; echo "build failed"; exit 1; }
  bin=.build/release/boxoffice
}
