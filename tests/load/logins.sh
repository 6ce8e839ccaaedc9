#!/usr/bin/env bash
# Memory under floods of logins, on a release build: 100 and then 1,000
# concurrent logins of unknown emails against one instance, with the RSS
# before, at the peak and after, and how slow reads got meanwhile.
#
#   bash tests/load/logins.sh [LOGINS...]     # default 100 1000
#   bash tests/load/logins.sh 20              # a short smoke run
set -euo pipefail
cd "$(dirname "$0")/../.."
db=storefront_logins_bench
ulimit -n 8192
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront

drop_database() {
    psql -q -h 127.0.0.1 -U postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    { wait; } 2>/dev/null || true
    drop_database || true
}
trap cleanup EXIT
drop_database
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn ROCKET_PORT=18831
# Failures of unknown emails are counted per client too: let them all in.
export ROCKET_LOGIN_FAILURES_PER_CLIENT=100000 ROCKET_LOGIN_FAILURES_PER_ACCOUNT=100000
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
"$binary" migrate >/dev/null
"$binary" >/tmp/storefront-logins.log 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:18831/api/stores" && break; sleep 0.2; done
python3 tests/load/logins.py http://127.0.0.1:18831 "$server" "$@"
