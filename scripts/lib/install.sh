# Installs what Box Office needs when it is missing (CI and new machines start
# bare). Sourced by scripts/run, scripts/test and scripts/bench.

need_debian() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

need_server() {
  need_debian postgresql-15 libpq-dev pkg-config
}

need_test_tools() {
  need_server
  need_debian postgresql-15-pgtap pgtap postgresql-15-plpgsql-check postgresql-15-cron
  python3 -c 'import openapi_spec_validator' 2>/dev/null || python3 -m pip install -q openapi-spec-validator
}

need_swift() {
  if ! command -v swift >/dev/null; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
  fi
  command -v swift >/dev/null || { echo "swift not found (expected at /opt/swift)" >&2; exit 1; }
}
