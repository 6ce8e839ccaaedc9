#!/usr/bin/env bash
# What the API's bookkeeping costs a write, on a release build: wrk sends
# `POST /api/items` (a new item each time, 16 connections) to the same
# server three ways, one after another, RUNS rounds each: with the hourly
# budgets off (`0`) and no Idempotency-Key; with the budgets counted (one
# statement a write); and counted, each request with a new Idempotency-Key
# (its claim and its kept answer: two statements more). Each server is
# warmed up for two seconds first. Medians of RUNS.
#
#   bash tests/load/bookkeeping.sh [SECONDS] [RUNS]   # default 10 3
#   bash tests/load/bookkeeping.sh 1 1                # a short smoke run
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
runs=${2:-3}
db=storefront_bookkeeping_bench
port=18881
base=http://127.0.0.1:$port
work=$(mktemp -d)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront
server=
stop_server() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; server=; fi
}
cleanup() {
    stop_server
    psql -q -h 127.0.0.1 -U postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT
psql -q -h 127.0.0.1 -U postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn ROCKET_PORT=$port
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')

start_server() { # writes per hour
    ROCKET_API_WRITES_PER_HOUR=$1 ROCKET_API_READS_PER_HOUR=$1 "$binary" >>"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.2; done
}
warm_up() { [ -f "$work/off.lua" ] && wrk -t2 -c16 -d2s -s "$work/off.lua" "$base" >/dev/null; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
json='Content-Type: application/json'

start_server 0
token=$(curl -fsS "$base/api/login" -H "$json" \
    -d "{\"email\":\"bench@storefront.test\",\"password\":\"$password\"}" | field access_token)
store=$(curl -fsS "$base/api/stores" -H "Authorization: Bearer $token" -H "$json" -d '{"name":"Bookkeeping"}' | field id)
stop_server

script() { # keyed (0 or 1), label
    cat >"$work/$2.lua" <<LUA
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local n = 0
function request()
    n = n + 1
    local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token" }
    if $1 == 1 then headers["Idempotency-Key"] = string.format("$2-%d-%d-%d", tid, n, math.random(1, 1000000000)) end
    local body = string.format('{"name":"$2 %d-%d-%d","price":"1.00","store_id":$store}', tid, n, math.random(1, 1000000000))
    return wrk.format("POST", "/api/items", headers, body)
end
LUA
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
measure() { # label
    local out
    out=$(wrk -t2 -c16 -d"${seconds}s" -s "$work/$1.lua" "$base")
    if grep -q "Non-2xx" <<<"$out"; then echo "$out" >&2; echo "writes were refused" >&2; exit 1; fi
    awk '/Requests\/sec/ { print $2 }' <<<"$out"
}

script 0 off; script 0 counted; script 1 keyed
off=() counted=() keyed=()
for _ in $(seq 1 "$runs"); do
    start_server 0
    warm_up
    off+=("$(measure off)")
    stop_server
    start_server 1000000000
    warm_up
    counted+=("$(measure counted)")
    keyed+=("$(measure keyed)")
    stop_server
done
o=$(printf '%s\n' "${off[@]}" | median)
c=$(printf '%s\n' "${counted[@]}" | median)
k=$(printf '%s\n' "${keyed[@]}" | median)
echo "POST /api/items, 16 connections, ${seconds}s, medians of $runs: budgets off, no key ${o}/s;" \
    "budgets counted ${c}/s ($(awk -v a="$c" -v b="$o" 'BEGIN { printf "%.2f", a / b }') of it);" \
    "counted, with Idempotency-Key ${k}/s ($(awk -v a="$k" -v b="$o" 'BEGIN { printf "%.2f", a / b }') of it)"
