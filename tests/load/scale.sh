#!/usr/bin/env bash
# Lists, searches and pages at 10,000 and at 1,000,000 items, on a release
# build.
#
#   bash tests/load/scale.sh [SMALL] [LARGE]
#
# Makes each catalogue with tests/load/catalogue.sql (10 stores, 2 tags per
# item; kept for the next run), then times 50 sequential requests of each URL
# on one kept-alive connection, after 50 that warm up, and prints the medians
# in milliseconds and their ratio. Needs PostgreSQL on 127.0.0.1:5432 (user
# postgres).
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("${1:-10000}" "${2:-1000000}")
port=18820
base=http://127.0.0.1:$port
work=$(mktemp -d)
psql=(psql -q -X -h 127.0.0.1 -U postgres)
export PGOPTIONS='-c client_min_messages=warning'

cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_PORT=$port ROCKET_LOG=warn
# The figures are of the work, not of the read cache (READ_CACHE_BYTES=33554432
# measures it warm).
export ROCKET_READ_CACHE_BYTES=${READ_CACHE_BYTES:-0}
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000

server=
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The median time of 50 requests of $1, in milliseconds (cookies of $2).
time_of() {
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -b "$2" "$base$1")
    [ "$status" = 200 ] || { echo "GET $1 answered $status" >&2; exit 1; }
    for _ in $(seq 1 50); do printf 'url = "%s"\noutput = "/dev/null"\n' "$base$1"; done >"$work/requests"
    # A first round warms the server's connections and PostgreSQL's caches.
    curl -s -b "$2" -K "$work/requests"
    curl -s -b "$2" -w '%{time_total}\n' -K "$work/requests" | awk '{ print $1 * 1000 }' | median
}
# The URL of the next page, from the Link header of $1.
next_of() {
    curl -s -D - -o /dev/null "$base$1" | sed -n 's/^[Ll]ink: <\([^>]*\)>.*/\1/p' | tr -d '\r' | sed "s#^$base##"
}

declare -A results
labels=()
for size in "${sizes[@]}"; do
    db=storefront_scale_$size
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
    # A catalogue made by an earlier run is kept and reused (a million
    # items take minutes to make); only its admin is made anew.
    made=$("${psql[@]}" -Atc "SELECT count(*) FROM items" "$DATABASE_URL" 2>/dev/null || echo none)
    if [ "$made" = "$size" ]; then
        "$binary" migrate
        # A migration may have rewritten rows: settle the tables (quick
        # when nothing changed) before timing.
        "${psql[@]}" -c "VACUUM ANALYZE" "$DATABASE_URL"
    else
        "${psql[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
        "$binary" migrate
        echo "making $size items..." >&2
        "${psql[@]}" -v items="$size" -f tests/load/catalogue.sql "$DATABASE_URL" >/dev/null
        "${psql[@]}" -c "VACUUM ANALYZE" "$DATABASE_URL"
    fi
    "${psql[@]}" -c "DELETE FROM users WHERE email = 'scale@storefront.test'" "$DATABASE_URL"
    password=$("$binary" create-admin --email scale@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
    stop_server
    "$binary" >>"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 60); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.5; done

    # An admin's browser session, for the admin list.
    jar=$work/cookies-$size
    csrf=$(curl -s -c "$jar" "$base/account/login" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
    curl -s -o /dev/null -b "$jar" -c "$jar" "$base/account/login" \
        --data-urlencode "csrf_token=$csrf" --data-urlencode "next=/admin" \
        --data-urlencode "email=scale@storefront.test" --data-urlencode "password=$password"

    store=$("${psql[@]}" -Atc "SELECT min(id) FROM stores" "$DATABASE_URL")
    # Tags 0 and 7 of the store: half of its items carry both.
    read -r tag_a tag_b < <("${psql[@]}" -AtF' ' -c \
        "SELECT min(id) FILTER (WHERE n = 0), min(id) FILTER (WHERE n = 7)
         FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM tags WHERE store_id = $store) AS t" \
        "$DATABASE_URL")
    deep="/api/items?store_id=$store&limit=50"
    for _ in $(seq 1 20); do deep=$(next_of "$deep"); done
    # The admin list's last page (20 a page), where a page past the end
    # leads: the list's total may be the planner's estimate.
    last_page=$(( (size + 19) / 20 ))
    past=$(curl -s -o /dev/null -b "$jar" -w '%{redirect_url}' "$base/admin/items?page=$last_page")
    [ -n "$past" ] && last_page=$(sed -n 's/.*[?&]page=\([0-9]*\).*/\1/p' <<<"$past")

    while IFS='|' read -r label path; do
        [ "$size" = "${sizes[0]}" ] && labels+=("$label")
        results["$label|$size"]=$(time_of "$path" "$jar")
        echo "$label at $size items: ${results["$label|$size"]} ms" >&2
    done <<EOF
GET /api/items?limit=50|/api/items?limit=50
GET /api/items?sort=-price&limit=50|/api/items?sort=-price&limit=50
GET /api/items?store_id=..&limit=50|/api/items?store_id=$store&limit=50
GET /api/items?store_id=.. page 21 (cursor)|$deep
GET /api/items?q=coffee&limit=50|/api/items?q=coffee&limit=50
GET /api/items/facets?q=coffee|/api/items/facets?q=coffee
GET /api/items?q=cofee&limit=50 (typo)|/api/items?q=cofee&limit=50
GET /api/items?min_price=10&max_price=20&limit=50|/api/items?min_price=10&max_price=20&limit=50
GET /api/items?tag_id=..&tag_id=..&limit=50|/api/items?tag_id=$tag_a&tag_id=$tag_b&limit=50
GET /stores/{id}|/stores/$store
GET /search?q=coffee|/search?q=coffee
GET /admin/items|/admin/items
GET /admin/items, last page|/admin/items?page=$last_page
EOF
done

echo
echo "| request | ${sizes[0]} items | ${sizes[1]} items | ratio |"
echo "|---|---|---|---|"
for label in "${labels[@]}"; do
    small=${results["$label|${sizes[0]}"]} large=${results["$label|${sizes[1]}"]}
    awk -v l="$label" -v s="$small" -v b="$large" 'BEGIN { printf "| `%s` | %.2f ms | %.2f ms | %.2f |\n", l, s, b, b / s }'
done
