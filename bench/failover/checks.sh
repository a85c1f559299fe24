# The drills' verdict: each check that fails is said at once on a line of its
# own ("CHECK FAILED: ..."), and finish_checks ends the script with status 1
# when any did, after listing them again. Sourced by failover.sh and
# backup-drill.sh.
failed_checks=()

# fail_check MESSAGE
fail_check() {
  echo "CHECK FAILED: $*"
  failed_checks+=("$*")
}

# expect_count WHAT EXPECTED ACTUAL: fails unless ACTUAL (a count) is EXPECTED.
expect_count() {
  [ "$3" = "$2" ] || fail_check "$1: $3, expected $2"
}

# audit_check LABEL URL: `boxoffice audit` on URL (exit status 1 on a broken
# invariant); prints its last line, fails the check unless it is clean.
audit_check() {
  local out status=0
  out=$(DATABASE_URL=$2 "$bin" audit 2>&1) || status=$?
  echo "$1: $(tail -1 <<<"$out")"
  if [ "$status" != 0 ]; then
    head -20 <<<"$out"
    fail_check "$1 is not clean (boxoffice audit exited $status)"
  fi
}

finish_checks() {
  if ((${#failed_checks[@]} > 0)); then
    echo "== ${#failed_checks[@]} check(s) failed:"
    printf '  - %s\n' "${failed_checks[@]}"
    exit 1
  fi
  echo "== every check passed"
}
