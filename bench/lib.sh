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

# server_cpu_us DATA_DIR: the CPU time (µs) one PostgreSQL server has used
# so far: its postmaster's own, that of its ended processes (which the
# postmaster reaped) and that of the live ones.
server_cpu_us() {
  local postmaster
  postmaster=$(head -1 "$1/postmaster.pid")
  # /proc/PID/stat after the command name: state ppid ... utime stime
  # cutime cstime as the 12th to 15th fields. A process may end while read.
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$postmaster" -v hz="$(getconf CLK_TCK)" '
    { pid = $1; sub(/^.*\) /, ""); split($0, f, " ")
      if (pid == pm) ticks += f[12] + f[13] + f[14] + f[15]
      else if (f[2] == pm) ticks += f[12] + f[13] }
    END { printf "%.0f", ticks * 1e6 / hz }'
}
