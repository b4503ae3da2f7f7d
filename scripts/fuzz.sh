#!/usr/bin/env bash
# Runs every Go fuzz target of the module for FUZZTIME each (go test -fuzz
# takes one target at a time), and prints the executions and whether a
# crasher was found. A crasher is saved under the package's
# testdata/fuzz/<Target>/ by go test and fails the run.
set -uo pipefail
go="${GO:-go}"
fuzztime="${FUZZTIME:-30s}"
status=0
while read -r pkg; do
  for target in $($go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz'); do
    out=$($go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
    rc=$?
    execs=$(echo "$out" | grep -oE 'execs: [0-9]+' | tail -1)
    if [ $rc -eq 0 ]; then
      echo "ok    $pkg $target ($execs)"
    else
      echo "FAIL  $pkg $target ($execs)"
      echo "$out" | tail -20
      status=1
    fi
  done
done < <($go list ./...)
exit $status
