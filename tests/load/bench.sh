#!/usr/bin/env bash
# Load benchmark of the two hottest API reads, on a release build.
#
#   bash tests/load/bench.sh [RUNS]
#
# Data: one store with 50 items, each carrying 2 tags. For each URL, runs
# `wrk -t2 -c32 -d10s` RUNS times (default 3) and prints every result and the
# median requests per second. Needs PostgreSQL on 127.0.0.1:5432 (user postgres)
# and installs wrk if it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
port=18800
db=storefront_bench
base=http://127.0.0.1:$port

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_PROFILE=release ROCKET_PORT=$port ROCKET_LOG=warn
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
"$binary" >/tmp/storefront-bench.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fsS -o /dev/null "$base/api/stores" && break; sleep 0.5; done

field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
json='Content-Type: application/json'
token=$(curl -fsS "$base/api/login" -H "$json" \
    -d "{\"email\":\"bench@storefront.test\",\"password\":\"$password\"}" | field access_token)
auth="Authorization: Bearer $token"
store=$(curl -fsS "$base/api/stores" -H "$auth" -H "$json" -d '{"name":"Bench store"}' | field id)
tags=()
for name in red blue; do
    tags+=("$(curl -fsS "$base/api/stores/$store/tags" -H "$auth" -H "$json" -d "{\"name\":\"$name\"}" | field id)")
done
for n in $(seq 1 50); do
    item=$(curl -fsS "$base/api/items" -H "$auth" -H "$json" \
        -d "{\"name\":\"Item $n\",\"price\":\"$n.99\",\"store_id\":$store,\"description\":\"Item number $n\"}" | field id)
    curl -fsS -o /dev/null "$base/api/items/$item/tags" -H "$auth" -H "$json" -d "{\"tag_ids\":[${tags[0]},${tags[1]}]}"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for path in "/api/items?limit=50" "/api/items/$item"; do
    results=()
    for _ in $(seq 1 "$runs"); do
        rps=$(wrk -t2 -c32 -d10s "$base$path" | awk '/Requests\/sec/ { print $2 }')
        results+=("$rps")
    done
    echo "GET $path: ${results[*]} requests/s; median $(printf '%s\n' "${results[@]}" | median)"
done
