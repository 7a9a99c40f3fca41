#!/usr/bin/env bash
# A PostgreSQL cluster of one test's own, to stop and start in the middle of
# a test (the shared test cluster must stay up for the others).
#   pg_cluster.sh start DIR PORT   creates it when missing, starts it on PORT
#                                  (or the next free one), creates the
#                                  database `funnelhouse`, prints the port;
#                                  PG_CITUS=1 makes it a Citus node
#   pg_cluster.sh stop DIR         fast shutdown
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib/pg.sh"
case "${1:-}" in
  start)
    # PG_CITUS=1: a Citus node (citus_options; CITUS_SHARD_COUNT applies).
    [ "${PG_CITUS:-0}" != 1 ] || PG_OPTIONS="$(citus_options) ${PG_OPTIONS:-}"
    PG_FSYNC=off pg_start "$2" "$3" >&2
    pg_create_database funnelhouse >&2
    echo "$PGPORT"
    ;;
  stop)
    pg_stop "$2"
    ;;
  *)
    echo "usage: pg_cluster.sh start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
