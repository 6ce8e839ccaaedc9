#!/usr/bin/env bash
# The staff tools at catalogue size, on a release build: an import of ROWS
# rows (20 bad) previewed and applied, an export of a store of EXPORT items,
# and a bulk price change (-10 %) on a store of BULK items, each timed with
# the server's peak memory, and the events the bulk change published.
#
#   bash tests/load/staff.sh [ROWS] [EXPORT] [BULK]    # default 10000 100000 5000
#   bash tests/load/staff.sh 500 2000 200               # a short smoke run
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=${1:-10000}
export_items=${2:-100000}
bulk_items=${3:-5000}
db=storefront_staff_bench
port=18871
base=http://127.0.0.1:$port
work=$(mktemp -d)
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront

sql() { psql -q -X -At -h 127.0.0.1 -U postgres -d "$db" "$@"; }
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
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn ROCKET_PORT=$port ROCKET_SECURE_COOKIES=false
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
# Three stores; the export's and the bulk change's filled straight in SQL.
sql -c "INSERT INTO stores (name) VALUES ('Import bench'), ('Export bench'), ('Bulk bench')"
export_store=$(sql -c "SELECT id FROM stores WHERE name = 'Export bench'")
bulk_store=$(sql -c "SELECT id FROM stores WHERE name = 'Bulk bench'")
for store_items in "$export_store:$export_items" "$bulk_store:$bulk_items"; do
    sql -c "INSERT INTO items (store_id, name, price, description)
            SELECT ${store_items%%:*}, 'Crate ' || n, (n % 1000) + 0.99,
                   CASE WHEN n % 7 = 0 THEN '=formula ' || n ELSE 'A crate, \"sturdy\"; ' || n END
            FROM generate_series(1, ${store_items##*:}) AS n"
done
sql -c "VACUUM ANALYZE items"
"$binary" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.2; done
events_before=$(sql -c "SELECT count(*) FROM events")
python3 tests/load/staff.py "$base" "$server" bench@storefront.test "$password" "$rows" "$export_store" "$bulk_store" \
    | tee "$work/driver.out" | grep -v '^BULK '
changed=$(sed -n 's/^BULK //p' "$work/driver.out")
# Every event of the import and the bulk change, numbered and published.
imported=$(sql -c "SELECT count(*) FROM items WHERE store_id = (SELECT id FROM stores WHERE name = 'Import bench')")
for _ in $(seq 1 100); do
    [ "$(sql -c "SELECT count(*) FILTER (WHERE id IS NULL) FROM events")" = 0 ] && break
    sleep 0.1
done
published=$(($(sql -c "SELECT count(*) FROM events WHERE id IS NOT NULL") - events_before))
echo "events published: $published ($imported imported items, $changed changed prices, and the import's 2 new tags)"
