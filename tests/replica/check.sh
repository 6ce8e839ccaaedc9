#!/usr/bin/env bash
# The replication harness (cluster.sh) at work: a private primary and a
# streaming replica that applies what it receives APPLY_DELAY late. Checks
# that the replica streams, that a write is not on it at once but is after
# the delay, that its replay position (`pg_last_wal_replay_lsn()`) is how to
# tell, and that it catches up after being stopped and started.
#
#   bash tests/replica/check.sh [APPLY_DELAY_MS]    # default 1500
#
# Needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
delay_ms=${1:-1500}
primary_port=25441
replica_port=25442
# shellcheck source=tests/replica/cluster.sh
. "$here/cluster.sh"
work=$(mktemp -d)
trap 'cluster_stop; rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
on() { psql -X -q -At -h 127.0.0.1 -p "$1" -U postgres -d postgres -c "$2"; }
now_ms() { date +%s%3N; }
# Waits (at most 30 s) until the replica answers `query` with `expected`.
replica_shows() {
    local query=$1 expected=$2 started
    started=$(now_ms)
    until [ "$(on "$replica_port" "$query" 2>/dev/null || true)" = "$expected" ]; do
        [ $(($(now_ms) - started)) -lt 30000 ] || fail "the replica never showed $expected for: $query"
        sleep 0.05
    done
    echo $(($(now_ms) - started))
}

cluster_start "$work" "$primary_port" "$replica_port" "${delay_ms}ms"
state=$(on "$primary_port" "SELECT state FROM pg_stat_replication")
[ "$state" = streaming ] || fail "the replica is not streaming: '$state'"
[ "$(on "$replica_port" "SELECT pg_is_in_recovery()")" = t ] || fail "the replica is not a standby"
echo "ok: a streaming replica of the primary ($(on "$replica_port" "SHOW recovery_min_apply_delay") apply delay)"

on "$primary_port" "CREATE TABLE probe (n int); INSERT INTO probe VALUES (1)"
replica_shows "SELECT count(*) FROM probe" 1 >/dev/null
# The primary's position once the write has committed: what a replica must
# have replayed to show it.
on "$primary_port" "INSERT INTO probe VALUES (2)"
written=$(on "$primary_port" "SELECT pg_current_wal_insert_lsn()")
early=$(on "$replica_port" "SELECT count(*), pg_last_wal_replay_lsn() >= '$written' FROM probe")
[ "$early" = "1|f" ] || fail "the write was on the replica at once: $early"
waited=$(replica_shows "SELECT count(*), pg_last_wal_replay_lsn() >= '$written' FROM probe" "2|t")
[ "$waited" -ge $((delay_ms / 2)) ] || fail "the write reached the replica after $waited ms, before the delay"
echo "ok: a write is not on the replica at once, and is after $waited ms; its replay position tells which"

cluster_replica_stop
on "$primary_port" "INSERT INTO probe SELECT generate_series(3, 1000)"
cluster_replica_start
waited=$(replica_shows "SELECT count(*) FROM probe" 1000)
echo "ok: stopped and started, the replica caught up in $waited ms"
