#!/usr/bin/env bash
# Pictures under load, on a release build: the time from uploading a
# 12-megapixel JPEG (drawn by tests/load/photo.js in Chromium) to the item
# answered with its sizes; memory before, at the peak and after UPLOADS
# concurrent uploads, with the latency of reads meanwhile; and, with wrk,
# a picture read warm and a store page of 50 picture cards, beside the JSON-404
# floor.
#
#   bash tests/load/pictures.sh [UPLOADS] [SECONDS]    # default 50 10
#   bash tests/load/pictures.sh 4 1                    # a short smoke run
set -euo pipefail
cd "$(dirname "$0")/../.."
uploads=${1:-50}
seconds=${2:-10}
db=storefront_pictures_bench
port=18861
base=http://127.0.0.1:$port
work=$(mktemp -d)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
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
    rm -rf "$work"
}
trap cleanup EXIT
drop_database
(cd tests/e2e && node ../load/photo.js "$work/photo.jpg" 4000 3000)
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn ROCKET_PORT=$port
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
"$binary" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.2; done
python3 tests/load/pictures.py "$base" "$server" bench@storefront.test "$password" "$work/photo.jpg" "$uploads" \
    | tee "$work/driver.out" | grep -v '^PICTURE \|^STORE '
picture=$(sed -n 's/^PICTURE //p' "$work/driver.out")
store=$(sed -n 's/^STORE //p' "$work/driver.out")

rps() { wrk -t2 -c32 -d"${seconds}s" "$base$1" | awk '/Requests\/sec/ { print $2 }'; }
curl -fsS -o /dev/null "$base$picture"
curl -fsS -o /dev/null "$base/stores/$store?per_page=50"
floor=$(rps /api/nope)
picture_rps=$(rps "$picture")
page_rps=$(rps "/stores/$store?per_page=50")
echo "wrk -t2 -c32 -d${seconds}s: JSON 404 floor $floor/s; picture (480 px) warm $picture_rps/s" \
    "($(awk -v a="$picture_rps" -v f="$floor" 'BEGIN { printf "%.0f%%", a * 100 / f }') of the floor);" \
    "store page of 50 cards with pictures (of $((uploads > 5 ? uploads : 5)) items) warm $page_rps/s" \
    "($(awk -v a="$page_rps" -v f="$floor" 'BEGIN { printf "%.0f%%", a * 100 / f }') of the floor)"
