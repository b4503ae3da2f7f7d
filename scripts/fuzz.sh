#!/usr/bin/env bash
# Runs every Go fuzz target of the module (each `func FuzzX(f *testing.F)`
# of a _test.go file) for FUZZTIME each and prints each target's
# executions and whether it failed. Each package's test binary is built
# once with the fuzzing instrumentation (go test -c -fuzz), then run once
# per target in the package's directory, FUZZJOBS at a time. A failing
# input (a crasher) is saved under the package's testdata/fuzz/<Target>/,
# replayed by every later `go test` (and so by make test), and fails the
# run.
#
#   FUZZTIME          how long each target fuzzes (default 30s)
#   FUZZJOBS          builds and targets run at once (default 1); with more
#                     than one, each target runs one fuzzing worker
#   FUZZMINIMIZETIME  how long go test may minimize an input (default 5s; go's
#                     own default, 60s, lets the minimizing of one new
#                     interesting input take a short run's whole time, as
#                     with the 700-byte customer bodies)
#   FUZZCACHE         the generated corpus: "go" (default) keeps it where
#                     go test keeps it ($GOCACHE/fuzz), so that long runs
#                     build on each other; "fresh" starts from the seeds
#                     and testdata/fuzz only (make test's short pass: the
#                     time goes to fuzzing, not to replaying a grown cache)
set -uo pipefail
go="${GO:-go}"
fuzztime="${FUZZTIME:-30s}"
jobs="${FUZZJOBS:-1}"
minimize="${FUZZMINIMIZETIME:-5s}"
cache="${FUZZCACHE:-go}"
workers=()
if [ "$jobs" -gt 1 ]; then
  workers=(-test.parallel 1)
fi
root=$PWD
module=$($go list -m)
gocache=$($go env GOCACHE)

# "dir target" per line, in a stable order.
targets=$(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
  sed -E 's#^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+).*#\1 \2#' | sort -u)
if [ -z "$targets" ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
began=$(date +%s)

# throttle waits until fewer than $jobs background jobs run.
throttle() {
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n
  done
}

status=0
for dir in $(echo "$targets" | cut -d' ' -f1 | sort -u); do
  throttle
  bin="$out/bin/$dir.test"
  mkdir -p "$(dirname "$bin")"
  ( $go test -c -fuzz=. -ldflags="-s -w" -o "$bin" "./$dir" >"$out/build.${dir//\//_}.log" 2>&1 || echo failed >"$out/build.${dir//\//_}.failed" ) &
done
wait
for f in "$out"/build.*.failed; do
  [ -e "$f" ] || continue
  log="${f%.failed}.log"
  echo "FAIL  build of ${log#"$out"/build.}:"
  cat "$log"
  status=1
done
[ "$status" -eq 0 ] || exit "$status"
built=$(date +%s)

i=0
while read -r dir target; do
  i=$((i + 1))
  throttle
  if [ "$cache" = fresh ]; then
    cachedir="$out/cache/$dir"
  else
    cachedir="$gocache/fuzz/$module/$dir"
  fi
  (
    cd "$root/$dir" &&
      "$out/bin/$dir.test" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime "$fuzztime" \
        -test.fuzzminimizetime "$minimize" -test.fuzzcachedir "$cachedir" "${workers[@]}" >"$out/$i.log" 2>&1
    echo $? >"$out/$i.rc"
  ) &
done <<<"$targets"
wait

n=0
failed=0
raced=0
total=0
i=0
while read -r dir target; do
  i=$((i + 1))
  n=$((n + 1))
  rc=$(cat "$out/$i.rc")
  execs=$(grep -oE 'execs: [0-9]+' "$out/$i.log" | tail -1 | grep -oE '[0-9]+')
  execs=${execs:-0}
  total=$((total + execs))
  if [ "$rc" -eq 0 ]; then
    printf 'ok    %-28s %-24s %9d execs\n' "$dir" "$target" "$execs"
  elif ! grep -q 'Failing input written\|seed corpus' "$out/$i.log" &&
    [ "$(grep -vE '^(fuzz: |--- FAIL: |FAIL$|exit status |warning: )' "$out/$i.log" | grep -cv '^[[:space:]]*context deadline exceeded$')" -eq 0 ]; then
    # Go's fuzzing coordinator can report its own -fuzztime deadline as a
    # failure when the machine is busy (golang/go#75804, fixed in Go
    # 1.27): nothing failed, no input was written.
    printf 'ok    %-28s %-24s %9d execs (the deadline race of go#75804, no failing input)\n' "$dir" "$target" "$execs"
    raced=$((raced + 1))
  else
    printf 'FAIL  %-28s %-24s %9d execs\n' "$dir" "$target" "$execs"
    tail -20 "$out/$i.log"
    failed=$((failed + 1))
    status=1
  fi
done <<<"$targets"
echo "fuzz: $n targets, $fuzztime each, $jobs at a time, in $(($(date +%s) - began))s ($((built - began))s building the instrumented test binaries): $total execs, $failed failed ($raced stopped by go#75804's deadline race)"
exit $status
