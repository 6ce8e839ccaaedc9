#!/usr/bin/env bash
# Webhooks on a release build, with a receiver on loopback (see
# webhooks.py): the time from a write's answer to its delivery (p50, p99),
# the server's memory with BACKLOG deliveries pending behind a failing one,
# and how fast that backlog drains to a fast receiver once it answers.
#
#   bash tests/load/webhooks.sh [BACKLOG]      # default 10000
#   bash tests/load/webhooks.sh 200            # a short smoke run
set -euo pipefail
cd "$(dirname "$0")/../.."
backlog=${1:-10000}
db=storefront_webhooks_bench
port=18871
base=http://127.0.0.1:$port
work=$(mktemp -d)
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront
# The receiver verifies deliveries with the specification's own library.
venv=${STOREFRONT_CI_CACHE:-$HOME/.cache/storefront-ci}/venv-webhooks
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check standardwebhooks==1.3.0
fi

drop_database() {
    psql -q -h 127.0.0.1 -U postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    { wait; } 2>/dev/null || true
    drop_database || true
    rm -rf "$work"
}
trap cleanup EXIT
drop_database
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn ROCKET_PORT=$port
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# The receiver is on loopback, over plain HTTP: allowed here only.
export ROCKET_WEBHOOKS_ALLOW_HTTP=true ROCKET_WEBHOOKS_ALLOW_PRIVATE=true
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
"$binary" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.2; done
"$venv/bin/python" tests/load/webhooks.py "$base" "$DATABASE_URL" bench@storefront.test "$password" "$server" "$backlog"
