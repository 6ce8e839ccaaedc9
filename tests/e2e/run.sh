#!/usr/bin/env bash
# Browser tests: starts Storefront on a database of its own, makes an admin
# account, and runs the Playwright tests against it in Debian's Chromium.
#
#   bash tests/e2e/run.sh BINARY [COMMAND...]
#
# With a COMMAND, runs it (from the directory run.sh was called from) against
# the same server instead of the tests, for example the screenshot walk:
#   bash tests/e2e/run.sh BINARY node tests/e2e/tour.js DIR
#
# Screenshots go to tests/e2e/artifacts/screenshots.
set -euo pipefail
caller=$(pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-$root/target/debug/storefront}
shift || true
port=${E2E_PORT:-18900}
db=storefront_e2e

cd "$here"
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
rm -rf artifacts && mkdir -p artifacts/screenshots

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_PORT=$port ROCKET_LOG=warn
cd "$root"
"$binary" seed-demo >/dev/null
STAFF_PASSWORD=$("$binary" create-admin --email staff@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
export STAFF_EMAIL=staff@storefront.test STAFF_PASSWORD BASE_URL=http://127.0.0.1:$port
"$binary" >"$here/artifacts/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fsS -o /dev/null "$BASE_URL/" && break; sleep 0.5; done

if (($#)); then
    cd "$caller"
    "$@"
else
    cd "$here"
    npm test
fi
