# Throwaway PostgreSQL clusters for scripts/test and scripts/run-local.
# Source this file; it defines pg_start DIR and pg_stop DIR (setting PGPORT),
# and citus_start and citus_stop for a Citus cluster of three.
# As root the server runs as the `postgres` user (PostgreSQL refuses root).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on, starting from $1.
pg_free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

# pg_start DIR [FIRST_PORT]: creates the cluster in DIR/data when missing and
# starts it on a free loopback port (exported as PGPORT), unix socket in DIR.
pg_start() {
  local dir=$1 first_port=${2:-54320}
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg_start: the postgres user cannot write $dir (a parent folder is private)" >&2
      return 1
    fi
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      return 1
    }
  fi
  local attempt logged
  for attempt in 1 2 3 4 5; do
    PGPORT=$(pg_free_port "$first_port")
    export PGPORT
    logged=0
    if [ -f "$dir/server.log" ]; then logged=$(wc -l <"$dir/server.log"); fi
    pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $PGPORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=${PG_FSYNC:-on} ${PG_OPTIONS:-}" \
      start >/dev/null 2>&1 && return 0
    # The port was taken between the check and the bind (by another server,
    # or as the local end of some connection): the next one.
    [ "$(tail -n +$((logged + 1)) "$dir/server.log" | grep -c 'could not bind')" != 0 ] || break
    first_port=$((PGPORT + 1))
  done
  cat "$dir/server.log" >&2
  return 1
}

pg_stop() {
  local dir=$1
  if [ -f "$dir/data/postmaster.pid" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

pg_create_database() {
  local name=$1
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc \
    "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1 ||
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres "$name"
}

# citus_start DIR FIRST_PORT: a Citus cluster of three PostgreSQL servers on
# loopback (DIR/coordinator, DIR/worker1, DIR/worker2), with the citus
# extension preloaded; scripts/citus installs it. Exports CITUS_PORTS (the
# coordinator's first). Each database that uses it needs CREATE EXTENSION
# citus on every node, and the workers added on the coordinator.
# CITUS_SHARD_COUNT sets how many shards a distributed table gets (Citus'
# default, 32, when unset).
# The server settings of a Citus node (pg_start's PG_OPTIONS).
citus_options() {
  local options="-c shared_preload_libraries=citus -c max_connections=300"
  options+=" -c citus.node_conninfo=sslmode=prefer"
  [ -z "${CITUS_SHARD_COUNT:-}" ] || options+=" -c citus.shard_count=$CITUS_SHARD_COUNT"
  echo "$options"
}

citus_start() {
  local dir=$1 port=$2 node options
  options=$(citus_options)
  CITUS_PORTS=""
  for node in coordinator worker1 worker2; do
    PG_OPTIONS="$options ${PG_OPTIONS:-}" pg_start "$dir/$node" "$port" || return 1
    CITUS_PORTS="$CITUS_PORTS $PGPORT"
    port=$((PGPORT + 1))
  done
  CITUS_PORTS=${CITUS_PORTS# }
  export CITUS_PORTS
}

citus_stop() {
  local node
  for node in coordinator worker1 worker2; do pg_stop "$1/$node"; done
}
