#!/usr/bin/env bash
# Figures of the live event stream, on a release build: two instances on one
# database; latency from a change through instance A to a stream of A and
# of B; memory per open stream; events delivered per second to STREAMS
# clients at once; and GET /api/items/{id} with and without STREAMS idle
# streams open (wrk -t2 -c32, RUNS runs of WRK_SECONDS each, medians).
#
#   bash tests/load/events.sh [STREAMS]        # default 1000
#   RUNS=1 WRK_SECONDS=3 bash tests/load/events.sh 200   # a short smoke run
#
# Each stream holds a socket on both ends: the script raises its own
# open-files limit (ulimit -n), which the server inherits. An operator must
# do the same: allow at least events_max_streams + 200 open files.
set -euo pipefail
cd "$(dirname "$0")/../.."
streams=${1:-1000}
db=storefront_events_bench
ulimit -n "$((streams * 2 + 1024))"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront

drop_database() {
    psql -q -h 127.0.0.1 -U postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    { wait; } 2>/dev/null || true
    drop_database || true
}
trap cleanup EXIT
drop_database
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn ROCKET_SECURE_COOKIES=false
export ROCKET_EVENTS_MAX_STREAMS=$((streams + 100))
# Every stream of the benchmark comes from the one loopback address.
export ROCKET_EVENTS_MAX_STREAMS_PER_CLIENT=$((streams + 100))
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
for port in 18821 18822; do
    ROCKET_PORT=$port "$binary" >"/tmp/storefront-events-$port.log" 2>&1 &
    pids+=($!)
done
for port in 18821 18822; do
    for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/api/stores" && break; sleep 0.2; done
done

python3 tests/load/events.py http://127.0.0.1:18821 http://127.0.0.1:18822 "${pids[0]}" \
    bench@storefront.test "$password" "$streams"
