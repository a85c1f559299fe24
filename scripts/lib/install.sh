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
  need_debian postgresql-15-pgtap pgtap postgresql-15-plpgsql-check postgresql-15-cron pgbouncer
  need_python_module openapi_spec_validator openapi-spec-validator
  # node runs the /docs page's JavaScript outside a browser (its YAML check)
  command -v node >/dev/null || need_debian nodejs
}

# need_python_module MODULE PACKAGE[==VERSION]: pip-installs PACKAGE when
# python3 cannot import MODULE, or when a VERSION is pinned and another one is
# installed. Debian's own python3 refuses pip installs into the system
# (PEP 668, "externally managed"), so there it goes into a venv under
# .build/venv, which the caller's PATH then puts first.
need_python_module() {
  local module=$1 package=$2 venv
  venv="$(pwd)/.build/venv"
  [ -x "$venv/bin/python3" ] && export PATH="$venv/bin:$PATH"
  python_module_present "$module" "$package" && return 0
  if python3 -m pip install -q "$package" 2>/dev/null; then return 0; fi
  echo "installing $package into $venv" >&2
  python3 -m venv "$venv" 2>/dev/null || { need_debian python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/python3" -m pip install -q "$package"
  export PATH="$venv/bin:$PATH"
}

# python_module_present MODULE PACKAGE[==VERSION]: MODULE imports and, when a
# VERSION is pinned, PACKAGE is installed at exactly that version.
python_module_present() {
  local module=$1 package=$2 installed
  python3 -c "import $module" 2>/dev/null || return 1
  [[ $package == *==* ]] || return 0
  installed=$(python3 -c 'import importlib.metadata, sys; print(importlib.metadata.version(sys.argv[1]))' \
    "${package%%==*}" 2>/dev/null) || return 1
  [ "$installed" = "${package#*==}" ]
}

# The fans' page test: Debian's chromium, its driver and Selenium, all from
# apt (nothing downloads a browser of its own).
need_browser() {
  need_debian chromium chromium-driver python3-selenium
}

need_swift() {
  if ! command -v swift >/dev/null; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH
  fi
  command -v swift >/dev/null || { echo "swift not found (expected at /opt/swift)" >&2; exit 1; }
}
