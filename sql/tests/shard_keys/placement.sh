#!/usr/bin/env bash
# The sharding plan against the schema: docs/scaling.md places every table and
# sequence of the schema app (its table under "Where every table goes") and
# every function of the schema api (its table under "Where every function
# runs"). This check reads both tables and fails when
#   - a table or sequence of app is missing from the plan, or the plan names
#     one the schema does not have;
#   - a placement is not one of: by `concert_id` / by `user_id` (the table has
#     that column), the same followed by ", column to add" (the table lacks it
#     and must gain it), reference table, coordinator, per node (a sequence);
#   - a function of api is missing from the plan, or the plan names one the
#     schema does not have (but api.schema_version, which boxoffice migrate
#     writes and scripts/dev-sql does not).
# scripts/test runs it after pg_prove, on a scratch database made by
# scripts/dev-sql; by hand:
#   PGHOST=... PGPORT=... PGUSER=postgres sql/tests/shard_keys/placement.sh DBNAME [PLAN]
# (PLAN: another copy of docs/scaling.md, relative to the repository, to see the check fail).
set -euo pipefail
cd "$(dirname "$0")/../../.."
db=${1:?database name}
plan=${2:-docs/scaling.md}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The rows of the markdown table under heading $1: "name<TAB>placement" for
# every name in backquotes in the first cell that starts with prefix $2.
rows() {
  awk -v heading="## $1" -v prefix="$2" '
    $0 == heading { inside = 1; next }
    /^## / { inside = 0 }
    inside && /^\| `/ {
      split($0, cells, "|")
      first = cells[2]; placement = cells[3]
      gsub(/^ +| +$/, "", placement)
      while (match(first, /`[^`]+`/)) {
        name = substr(first, RSTART + 1, RLENGTH - 2)
        if (index(name, prefix) == 1) print name "\t" placement
        first = substr(first, RSTART + RLENGTH)
      }
    }' "$plan"
}

planned_tables=$(rows "Where every table goes" "app.")
planned_functions=$(rows "Where every function runs" "api." | cut -f1 | sort -u)
[ -n "$planned_tables" ] || fail "no table of app found under \"Where every table goes\" in $plan"
[ -n "$planned_functions" ] || fail "no function of api found under \"Where every function runs\" in $plan"

# Tables (not partitions) and sequences of app; identity sequences belong to
# their column and go with its table.
schema_relations=$(q -c "
  select c.oid::regclass::text || E'\t' || c.relkind::text
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'app' and c.relkind in ('r', 'p', 'S') and not c.relispartition
    and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'i')
  order by 1")

while IFS=$'\t' read -r name kind; do
  [ -n "$name" ] || continue
  placement=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' <<<"$planned_tables")
  if [ -z "$placement" ]; then
    fail "$name is not placed in $plan"
    continue
  fi
  [ "$(grep -c "^$name	" <<<"$planned_tables")" = 1 ] || fail "$name is placed more than once in $plan"
  case "$kind:$placement" in
    S:"per node") ;;
    S:*) fail "$name is a sequence, placed \"$placement\" (a sequence is placed per node)" ;;
    [rp]:"reference table" | [rp]:"coordinator") ;;
    [rp]:"by \`"*"\`"*)
      column=${placement#by \`}; column=${column%%\`*}
      case $column in concert_id | user_id) ;; *) fail "$name is placed by $column, not concert_id or user_id" ;; esac
      has=$(q -c "select count(*) from pg_attribute where attrelid = '$name'::regclass and attname = '$column' and attnum > 0 and not attisdropped")
      if [ "$placement" = "by \`$column\`" ]; then
        [ "$has" = 1 ] || fail "$name is placed by $column but has no such column (say \"by \`$column\`, column to add\")"
      elif [ "$placement" = "by \`$column\`, column to add" ]; then
        [ "$has" = 0 ] || fail "$name has $column now: its placement should read \"by \`$column\`\""
      else
        fail "$name: unknown placement \"$placement\""
      fi
      ;;
    *) fail "$name: unknown placement \"$placement\"" ;;
  esac
done <<<"$schema_relations"

while IFS=$'\t' read -r name _; do
  [ -n "$name" ] || continue
  grep -q "^$name	" <<<"$schema_relations" || fail "$plan places $name, which the schema app does not have"
done <<<"$planned_tables"

schema_functions=$(q -c "select distinct 'api.' || p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api' order by 1")
for f in $schema_functions; do
  grep -qx "$f" <<<"$planned_functions" || fail "$f is not placed under \"Where every function runs\" in $plan"
done
for f in $planned_functions; do
  [ "$f" = api.schema_version ] && continue
  grep -qx "$f" <<<"$schema_functions" || fail "$plan places $f, which the schema api does not have"
done

if ((failures > 0)); then
  echo "placement: $failures problem(s)"
  exit 1
fi
echo "placement: $(wc -l <<<"$schema_relations") tables and sequences of app and $(wc -w <<<"$schema_functions") functions of api, each placed in $plan"
