#!/usr/bin/env bash
# The release binary as the README says a deployment runs it: from an empty
# folder, with only its secrets, its database and its port in the environment.
# Checks that it keeps the settings of the shipped Rocket.toml (secure
# `__Host-` cookies and HSTS, no trusted address header, 64 KiB JSON bodies, a
# pool of 16), says so at start, and that the debug profile starts from there
# too with its throwaway secrets.
#
#   bash tests/deploy/check.sh [BINARY]
#
# Without BINARY it builds and uses the release binary. Needs PostgreSQL on
# 127.0.0.1:5432 (user postgres, no password), where it makes and drops a
# database of its own.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-}
if [ -z "$binary" ]; then
    (cd "$root" && cargo build --release --quiet)
    binary=${CARGO_TARGET_DIR:-$root/target}/release/storefront
fi
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
port=18941
db=storefront_deploy_check
server_url=postgres://postgres@127.0.0.1:5432
export PGOPTIONS="-c client_min_messages=warning"

work=$(mktemp -d)
app=""
cleanup() {
    [ -n "$app" ] && kill "$app" 2>/dev/null && wait "$app" 2>/dev/null
    psql -q "$server_url/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
psql -q "$server_url/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null

failures=0
check() { # DESCRIPTION, then a command that must succeed
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failures=$((failures + 1)); fi
}

# Starts the binary in an empty folder with exactly the given environment.
start() {
    rm -rf "$work/run" && mkdir -p "$work/run"
    (cd "$work/run" && exec env -i PATH="$PATH" DATABASE_URL="$server_url/$db" ROCKET_PORT=$port "$@" \
        "$binary" >"$work/app.log" 2>&1) &
    app=$!
    for _ in $(seq 1 150); do
        curl -fs -o /dev/null "http://127.0.0.1:$port/api/stores" && return 0
        kill -0 "$app" 2>/dev/null || break
        sleep 0.2
    done
    echo "the binary did not start:"
    cat "$work/app.log"
    exit 1
}
stop() { kill "$app" && wait "$app" 2>/dev/null || true; app=""; }
said() { grep '"message":"configuration' "$work/app.log" | grep -q "$1"; }

echo "== release, from an empty folder, secrets in the environment"
start ROCKET_SECRET_KEY="$(openssl rand -base64 32)" ROCKET_JWT_SECRET="$(openssl rand -base64 48)"
check "no Rocket.toml read" said '"file":"none"'
check "the release profile" said '"profile":"release"'
check "secure cookies" said '"secure_cookies":true'
check "no trusted address header" said '"ip_header":"none"'
check "a 64 KiB JSON limit" said '"json_limit":"64KiB"'
check "a pool of 16" said '"pool_size":"Some(16)"'
connections=$(psql -At "$server_url/$db" -c \
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
check "16 pooled connections open ($connections in all)" test "$connections" -ge 16
curl -fsS -D "$work/headers" -o /dev/null "http://127.0.0.1:$port/account/login"
check "a __Host- CSRF cookie, Secure and HttpOnly" \
    grep -qiE '^set-cookie: __Host-storefront_csrf=.*; Secure' "$work/headers"
check "HSTS" grep -qi '^strict-transport-security: max-age=31536000' "$work/headers"
python3 -c 'import json; print(json.dumps({"email": "a@example.org", "password": "x" * 66000}))' >"$work/big.json"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/login" \
    -H 'Content-Type: application/json' --data-binary @"$work/big.json")
check "413 past 64 KiB ($status)" test "$status" = 413
curl -s -o /dev/null "http://127.0.0.1:$port/api/stores?from=forged" -H 'X-Real-IP: 203.0.113.9'
sleep 0.3
check "X-Real-IP ignored: the log has the socket's address" \
    grep -q '"path":"/api/stores?from=forged".*"client":"127.0.0.1"' "$work/app.log"
check "X-Real-IP nowhere in the log" bash -c "! grep -q 203.0.113.9 '$work/app.log'"
stop

echo "== debug profile, from an empty folder, no secrets at all"
start ROCKET_PROFILE=debug ROCKET_LOG_FORMAT=json
check "the debug profile" said '"profile":"debug"'
check "its throwaway secrets: the home page answers" curl -fs -o /dev/null "http://127.0.0.1:$port/"
stop

if [ "$failures" -gt 0 ]; then
    echo "--- application log"
    cat "$work/app.log"
    echo "$failures check(s) failed"
    exit 1
fi
echo "deploy check passed"
