# What the bench scripts share; sourced from the repository's root.

# build_quietly TARGET...: scripts/build, then the bench TARGETs; the output
# is shown only when the build fails.
build_quietly() {
  local log
  log=$(mktemp /tmp/funnelhouse-bench-build.XXXXXX)
  if ! { scripts/build && cmake --build build -j "${BUILD_JOBS:-2}" --target "$@"; } >"$log" 2>&1; then
    tail -40 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
}

# callgrind_total FILE: the instructions a callgrind output file counted.
callgrind_total() {
  sed -nE 's/^totals: ([0-9]+).*/\1/p' "$1" | tail -1
}

# now: the time in seconds, to the nanosecond; elapsed START: seconds since
# START (a `now`), to the millisecond.
now() { date +%s.%N; }
elapsed() { awk -v a="$(now)" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
