# The pgTAP fixture library (schema tests; sql/testing/fixtures/00_schema.sql
# says what it holds and how to add to it).
#
# fixtures_load DB loads it into database DB: every file of
# sql/testing/fixtures/ in name order, then any sql/testing/fixtures_*.sql
# (a fixture file written before the folder existed; its place is in the
# folder), in one psql session that stops at the first error and names the
# file.

fixtures_load() {
  local db=${1:?database name}
  (
    cd "$(dirname "${BASH_SOURCE[0]}")/../.."
    LC_ALL=C  # the globs sort byte by byte, whatever the locale
    shopt -s nullglob
    local files=() file
    for file in sql/testing/fixtures/*.sql sql/testing/fixtures_*.sql; do files+=(-f "$file"); done
    psql -q -X -v ON_ERROR_STOP=1 -d "$db" "${files[@]}" >/dev/null
  )
}
