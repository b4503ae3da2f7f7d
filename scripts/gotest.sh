#!/usr/bin/env bash
# Runs every Go test verbosely into a log and prints what a reader needs: one
# line per package, the moto_server lines (proof that the DynamoDB and SQS
# drivers ran against a real server), every skipped test with its reason,
# the failures with their output, and a closing "N passed, N failed, N skipped".
# The whole log is kept in .artifacts/gotest.log.
set -uo pipefail
timeout="${TEST_TIMEOUT:-15m}"
# Test artifacts (the browser tests' screenshots) and the log are kept here.
artifacts="${ARTIFACTS:-$PWD/.artifacts}"
rm -rf "$artifacts" && mkdir -p "$artifacts"
go="${GO:-go}"
log="$artifacts/gotest.log"

$go test -v -timeout "$timeout" -artifacts -outputdir "$artifacts" ./... >"$log" 2>&1
status=$?

grep -E '^(ok|FAIL)[[:space:]]' "$log" | grep -v 'no test files'
grep -E '^mototest:' "$log" | sed -E 's/ at http:[^ ]+//' | sort | uniq | sed 's/^/  /'
if grep -qE '^[[:space:]]*--- SKIP' "$log"; then
  echo "skipped tests:"
  grep -E -A1 '^[[:space:]]*--- SKIP' "$log" | grep -v '^--$' | sed 's/^/  /'
fi
if [ "$status" -ne 0 ]; then
  # go test prints each package's output as one block ending with its
  # ok/FAIL line: show the blocks of the failed packages, without the
  # passing tests' lines and the request logs.
  echo "---- failures (each failed package's output without the passing tests; whole log: $log):"
  awk '
    /^(ok|\?|FAIL)[[:space:]]/ { if ($1 == "FAIL") { print block; print $0 } block = ""; next }
    /^[[:space:]]*(=== (RUN|PAUSE|CONT|NAME)|--- PASS)/ { next }
    /"level":"(INFO|DEBUG)"/ { next }
    { block = block $0 "\n" }
  ' "$log" | tail -n 400
fi

shots=$(find "$artifacts" -name '*.png' | wc -l)
[ "$shots" -gt 0 ] && echo "screenshots: $shots in $artifacts/_artifacts"
passed=$(grep -cE '^[[:space:]]*--- PASS' "$log")
failed=$(grep -cE '^[[:space:]]*--- FAIL' "$log")
skipped=$(grep -cE '^[[:space:]]*--- SKIP' "$log")
broken=$(grep -cE '^FAIL[[:space:]].*\[(build failed|setup failed)\]' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=$((broken > 0 ? broken : 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
