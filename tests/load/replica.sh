#!/usr/bin/env bash
# Reads with a streaming replica, on a release build: a private primary and
# a replica of it on this machine (tests/replica/cluster.sh, no apply delay),
# a catalogue of ITEMS items (tests/load/catalogue.sql) and one instance.
#
#   bash tests/load/replica.sh [RUNS] [SECONDS] [ITEMS]    # default 3 10 10000
#   bash tests/load/replica.sh 1 1 1000                     # a short smoke run
#
# 1. `GET /api/items?limit=50` with the read cache off (every request reads
#    the database), `wrk -t2 -c32`, RUNS runs of SECONDS each, medians: the
#    primary alone, then the same instance with ROCKET_REPLICA_URLS set.
#    Both servers share this machine's cores with the instance and wrk, so
#    the ratio says what the replica costs and saves here, not what a
#    replica on a machine of its own adds.
# 2. A mixed load with the cache on (tests/scale/replica.py's Load: three
#    anonymous readers of lists, an item, a store page and searches, and a
#    write every 50 ms) for SECONDS × RUNS: where anonymous reads were
#    answered, counted from the instance's request log.
#
# Needs PostgreSQL's server programs (/usr/lib/postgresql/*/bin); installs
# wrk if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
runs=${1:-3}
seconds=${2:-10}
items=${3:-10000}
port=18850
primary_port=25461
replica_port=25462
db=storefront_replica_bench
base=http://127.0.0.1:$port

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront
# shellcheck source=tests/replica/cluster.sh
. tests/replica/cluster.sh
work=$(mktemp -d)
chmod 755 "$work"
mkdir "$work/cluster"
server=
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
}
trap 'stop_server; cluster_stop; rm -rf "$work"' EXIT

cluster_start "$work/cluster" $primary_port $replica_port 0
replica_url=postgres://postgres@127.0.0.1:$replica_port/$db
export DATABASE_URL=postgres://postgres@127.0.0.1:$primary_port/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_PORT=$port ROCKET_LOG=warn ROCKET_SEED_DEMO_DATA=false
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
"$binary" migrate >/dev/null
psql -q -X -v items="$items" -f tests/load/catalogue.sql "$DATABASE_URL" >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
psql -q -X -h 127.0.0.1 -p $primary_port -U postgres -d "$db" -c "VACUUM ANALYZE" >/dev/null

# Starts the instance: replica URLs ($1, may be empty), cache bytes ($2).
start_server() {
    stop_server
    ROCKET_REPLICA_URLS=$1 ROCKET_READ_CACHE_BYTES=$2 "$binary" >>"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 60); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.5; done
    sleep 1
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
measure() {
    local rps=() run out
    curl -fsS -o /dev/null "$base/api/items?limit=50"
    for run in $(seq 1 "$runs"); do
        out=$(wrk -t2 -c32 -d"${seconds}s" "$base/api/items?limit=50")
        rps+=("$(awk '/Requests\/sec/ { print $2 }' <<<"$out")")
        if grep -q "Non-2xx" <<<"$out"; then echo "FAIL: errors: $out" >&2; exit 1; fi
    done
    echo "$1: ${rps[*]} requests/s" >&2
    printf '%s\n' "${rps[@]}" | median
}

start_server "" 0
alone=$(measure "primary alone")
start_server "$replica_url" 0
with_replica=$(measure "with one replica")

echo
echo "GET /api/items?limit=50 of $items items, read cache off, wrk -t2 -c32 -d${seconds}s, median of $runs:"
echo "  primary alone:    $alone requests/s"
echo "  with one replica: $with_replica requests/s"
awk -v a="$alone" -v r="$with_replica" 'BEGIN { printf "  ratio (replica / alone): %.2f\n", r / a }'

# The mixed load, with the request log on.
stop_server
: >"$work/server.log"
ROCKET_LOG=info ROCKET_LOG_FORMAT=json start_server "$replica_url" $((32 * 1024 * 1024))
SCALE_LOGS=$work/server.log python3 - "$base" "$password" "$((runs * seconds))" <<'PY'
import os, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "scale"))
from check import Api, login
from replica import Load, Logs, where

base, password, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
token = login(Api(base), "bench@storefront.test", password)
lb = Api(base, token)
_, stores, _ = lb.call("GET", "/api/stores?limit=1")
store_id = stores[0]["id"]
_, listed, _ = lb.call("GET", f"/api/items?store_id={store_id}&limit=1")
item_id = listed[0]["id"]
logs = Logs([os.environ["SCALE_LOGS"]])
load = Load(base, lb, token, store_id, item_id, readers=3, write_every=0.05, token_reader=False)
time.sleep(seconds)
answers = load.stop()
time.sleep(0.3)
anonymous = [line for line in logs.requests() if line.get("method") == "GET"]
replica, primary, cached = where(anonymous)
errors = [a for a in answers if a[1] >= 500 or a[1] == 0]
if errors:
    print(f"FAIL: errors under the mixed load: {errors[:3]}")
    sys.exit(1)
database = replica + primary
print(f"Mixed load for {seconds:.0f} s, cache on (3 anonymous readers, a write every 50 ms): "
      f"{len(anonymous)} anonymous reads: {cached} from the cache, {replica} from the replica, "
      f"{primary} from the primary: {replica / max(database, 1):.0%} of those that reached a database "
      f"were served by the replica")
PY
