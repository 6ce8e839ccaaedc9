#!/usr/bin/env bash
# Load benchmark of the read path, on a release build.
#
#   bash tests/load/bench.sh [RUNS] [SECONDS]
#   STATEMENTS=no bash tests/load/bench.sh 1 1     # a short smoke run
#
# Data: one store with 50 items, each carrying 2 tags. Each row is measured
# with `wrk -t2 -c32 -d${SECONDS}s` RUNS times (default 3 runs of 10 s) and
# reported as the median, beside the same run's ceiling (`pgbench -S -c32 -j2
# -M prepared`, one indexed single-row query per transaction) and the
# framework's own floor (a JSON 404). Also reported per request: the CPU time
# of the application and of all PostgreSQL processes, and the SQL statements
# made (committed transactions in pg_stat_database over 500 sequential
# requests; these reads use no explicit transaction, so each statement is
# one; STATEMENTS=no skips this count, which waits 22 s a row). Cached reads
# are measured three ways: cache off, cold (50 items read in turn through a
# cache with room for one, so reads miss) and warm; lists and the store's
# page off and warm.
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres); installs wrk if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
seconds=${2:-10}
port=18800
db=storefront_bench
pgbench_db=storefront_bench_pgbench
base=http://127.0.0.1:$port
work=$(mktemp -d)
psql=(psql -q -X -h 127.0.0.1 -U postgres)
export PGOPTIONS='-c client_min_messages=warning'

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v pgbench >/dev/null || PATH=$PATH:$(ls -d /usr/lib/postgresql/*/bin | tail -1)
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront

"${psql[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
"${psql[@]}" -c "DROP DATABASE IF EXISTS $pgbench_db WITH (FORCE)" -c "CREATE DATABASE $pgbench_db"
pgbench -h 127.0.0.1 -U postgres -i -s 10 -q "$pgbench_db" >/dev/null 2>&1
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_PORT=$port ROCKET_LOG=warn
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')

server=
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT
# Starts the server with a read cache of $1 bytes (0: off).
start_server() {
    stop_server
    ROCKET_READ_CACHE_BYTES=$1 "$binary" >>"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 60); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.5; done
    # The cache is used once the event listener is connected.
    sleep 1
}

start_server 0
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
items=()
for n in $(seq 1 50); do
    item=$(curl -fsS "$base/api/items" -H "$auth" -H "$json" \
        -d "{\"name\":\"Item $n\",\"price\":\"$n.99\",\"store_id\":$store,\"description\":\"Item number $n\"}" | field id)
    items+=("$item")
    curl -fsS -o /dev/null "$base/api/items/$item/tags" -H "$auth" -H "$json" -d "{\"tag_ids\":[${tags[0]},${tags[1]}]}"
done
{
    echo "local ids = {$(IFS=,; echo "${items[*]}")}"
    echo 'local i = 0'
    echo 'request = function() i = i % #ids + 1; return wrk.format("GET", "/api/items/" .. ids[i]) end'
} >"$work/rotate.lua"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# CPU ticks (1/100 s) used so far by the server, and by every postgres process.
ticks_of() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
app_ticks() { ticks_of "$server"; }
pg_ticks() {
    local total=0 pid
    for pid in $(pgrep -x postgres); do total=$((total + $(ticks_of "$pid"))); done
    echo "$total"
}
commits() { "${psql[@]}" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'"; }

# Statements per request: 500 sequential requests, then the counters once
# every backend has reported (idle backends report within 10 s).
statements() {
    local before n
    if [ "${STATEMENTS:-yes}" = no ]; then
        echo "-"
        return
    fi
    for n in $(seq 0 499); do
        if [ "$1" = rotate ]; then echo "url = \"$base/api/items/${items[$((n % 50))]}\""; else echo "url = \"$base$1\""; fi
        echo 'output = "/dev/null"'
    done >"$work/requests"
    sleep 11
    before=$(commits)
    curl -s -K "$work/requests"
    sleep 11
    awk -v a="$before" -v b="$(commits)" 'BEGIN { printf "%.2f", (b - a) / 500 }'
}

rows=()
# Measures one row: label and path (`rotate`: the 50 items in turn).
measure() {
    local label=$1 path=$2 rps=() app=() pg=() out requests a0 p0 run
    for run in $(seq 1 "$runs"); do
        a0=$(app_ticks) p0=$(pg_ticks)
        if [ "$path" = rotate ]; then
            out=$(wrk -t2 -c32 -d"${seconds}s" -s "$work/rotate.lua" "$base/api/items")
        else
            out=$(wrk -t2 -c32 -d"${seconds}s" "$base$path")
        fi
        requests=$(awk '/requests in/ { print $1 }' <<<"$out")
        rps+=("$(awk '/Requests\/sec/ { print $2 }' <<<"$out")")
        app+=("$(awk -v t="$(($(app_ticks) - a0))" -v n="$requests" 'BEGIN { print t * 10000 / n }')")
        pg+=("$(awk -v t="$(($(pg_ticks) - p0))" -v n="$requests" 'BEGIN { print t * 10000 / n }')")
    done
    local median_rps
    median_rps=$(printf '%s\n' "${rps[@]}" | median)
    echo "$label: ${rps[*]} requests/s; median $median_rps" >&2
    rows+=("$label|$median_rps|$(printf '%s\n' "${app[@]}" | median)|$(printf '%s\n' "${pg[@]}" | median)|$(statements "$path")")
}

pgbench_runs=()
for _ in $(seq 1 "$runs"); do
    tps=$(pgbench -h 127.0.0.1 -U postgres -S -c32 -j2 -M prepared -T "$seconds" -n "$pgbench_db" 2>/dev/null |
        awk '/^tps/ { print $3 }')
    pgbench_runs+=("$tps")
done
ceiling=$(printf '%s\n' "${pgbench_runs[@]}" | median)
echo "pgbench -S: ${pgbench_runs[*]} transactions/s; median $ceiling" >&2

measure "GET /api/nope (JSON 404, the floor)" /api/nope
measure "GET /api/items/{id}, cache off" "/api/items/$item"
measure "GET /api/items?store_id=..&limit=50, cache off" "/api/items?store_id=$store&limit=50"
measure "GET /api/stores, cache off" /api/stores
measure "GET /stores/{id} (page, 50 items), cache off" "/stores/$store"
start_server 1000
measure "GET /api/items/{id}, cache cold" rotate
start_server 33554432
measure "GET /api/items/{id}, cache warm" "/api/items/$item"
measure "GET /api/stores/{id}, cache warm" "/api/stores/$store"
measure "GET /api/tags/{id}, cache warm" "/api/tags/${tags[0]}"
measure "GET /api/items?store_id=..&limit=50, cache warm" "/api/items?store_id=$store&limit=50"
measure "GET /api/stores, cache warm" /api/stores
measure "GET /stores/{id} (page, 50 items), cache warm" "/stores/$store"

floor=$(cut -d'|' -f2 <<<"${rows[0]}")
echo
echo "| request | requests/s | share of pgbench -S ($ceiling tps) | share of the JSON-404 floor | CPU per request, app / PostgreSQL | SQL statements |"
echo "|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
    IFS='|' read -r label rps app pg sql <<<"$row"
    awk -v l="$label" -v r="$rps" -v c="$ceiling" -v f="$floor" -v a="$app" -v p="$pg" -v s="$sql" \
        'BEGIN { printf "| `%s` | %.0f | %.1f%% | %.1f%% | %.0f µs / %.0f µs | %s |\n", l, r, 100 * r / c, 100 * r / f, a, p, s }'
done
