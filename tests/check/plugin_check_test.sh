#!/usr/bin/env bash
# Runs `kordon plugin check` and checks its exit status and report.
# Usage: plugin_check_test.sh KORDON EXPECTED_STATUS REGEX CHECK-ARGS...
# REGEX (extended, grep -E) must match a line of the report; "-" for none.
set -uo pipefail
kordon=$1 expected=$2 regex=$3
shift 3
out=$("$kordon" plugin check "$@" 2>&1)
status=$?
echo "$out"
if [ "$status" -ne "$expected" ]; then
  echo "plugin_check_test: exit status $status, expected $expected"
  exit 1
fi
if [ "$regex" != "-" ] && ! grep -Eq -- "$regex" <<<"$out"; then
  echo "plugin_check_test: no line of the report matches: $regex"
  exit 1
fi
echo "plugin_check_test: ok"
