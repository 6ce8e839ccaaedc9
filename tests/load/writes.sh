#!/usr/bin/env bash
# Write benchmark, on a release build: `POST /api/items` per second at 1, 4,
# 16 and 64 concurrent clients through instance A of two on one database,
# beside the same run's database ceiling for the same work, and the delivery
# latency to instance B meanwhile: a probe client changes an item through A
# twenty times a second and times each change from A's answer to its event
# on a stream of B (tests/load/latency.py).
#
#   bash tests/load/writes.sh [RUNS] [SECONDS] [CLIENTS...]
#   bash tests/load/writes.sh 1 1 1 4      # a short smoke run
#
# The ceiling is pgbench running the statements of one item creation
# (tests/load/item_create.sql) with as many clients: without the event row,
# with it as the application writes it, and with it as it was written
# before (numbered at commit under a lock, NOTIFY in the transaction). Each
# figure is the median of RUNS runs of SECONDS (default 3 runs of 10 s).
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres); installs wrk if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
seconds=${2:-10}
shift $(($# < 2 ? $# : 2))
levels=("$@")
[ ${#levels[@]} -gt 0 ] || levels=(1 4 16 64)
db=storefront_writes_bench
ports=(18841 18842)
work=$(mktemp -d)
psql=(psql -q -X -h 127.0.0.1 -U postgres)
export PGOPTIONS='-c client_min_messages=warning'

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v pgbench >/dev/null || PATH=$PATH:$(ls -d /usr/lib/postgresql/*/bin | tail -1)
cargo build --release --quiet
binary=${CARGO_TARGET_DIR:-target}/release/storefront

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    { wait; } 2>/dev/null || true
    [ -n "${KEEP:-}" ] || "${psql[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    rm -rf "$work"
}
trap cleanup EXIT
"${psql[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_LOG=warn
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email bench@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
for port in "${ports[@]}"; do
    ROCKET_PORT=$port "$binary" >"$work/server-$port.log" 2>&1 &
    pids+=($!)
done
a=http://127.0.0.1:${ports[0]}
b=http://127.0.0.1:${ports[1]}
for base in "$a" "$b"; do
    for _ in $(seq 1 100); do curl -fs -o /dev/null "$base/api/stores" && break; sleep 0.2; done
done

field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
json='Content-Type: application/json'
token=$(curl -fsS "$a/api/login" -H "$json" \
    -d "{\"email\":\"bench@storefront.test\",\"password\":\"$password\"}" | field access_token)
store=$(curl -fsS "$a/api/stores" -H "Authorization: Bearer $token" -H "$json" -d '{"name":"Writes"}' | field id)
probe=$(curl -fsS "$a/api/items" -H "Authorization: Bearer $token" -H "$json" \
    -d "{\"name\":\"Probe\",\"price\":\"1.00\",\"store_id\":$store}" | field id)
user_id=$("${psql[@]}" -Atc "SELECT id FROM users WHERE email = 'bench@storefront.test'" "$db")
session=$("${psql[@]}" -Atc "SELECT max(id) FROM sessions WHERE user_id = $user_id" "$db")
# The former design, for comparison: a copy of the events table whose rows
# are numbered at commit under one lock and announced from the transaction.
"${psql[@]}" "$db" <<'SQL'
CREATE SEQUENCE events_numbered_at_commit_seq;
CREATE TABLE events_numbered_at_commit (LIKE events INCLUDING DEFAULTS);
ALTER TABLE events_numbered_at_commit ALTER draft_id SET DEFAULT nextval('events_numbered_at_commit_seq');
CREATE FUNCTION number_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5495528);
    UPDATE events_numbered_at_commit SET id = nextval('events_numbered_at_commit_seq')
        WHERE draft_id = NEW.draft_id;
    PERFORM pg_notify('numbered_at_commit', NEW.draft_id::text);
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER number_at_commit AFTER INSERT ON events_numbered_at_commit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION number_at_commit();
SQL

cat >"$work/writes.lua" <<LUA
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local n = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer $token" }
function request()
    n = n + 1
    local body = string.format('{"name":"Load %d-%d","price":"1.00","store_id":$store}', tid, n)
    return wrk.format("POST", "/api/items", headers, body)
end
LUA

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ceiling() { # clients, events
    pgbench -h 127.0.0.1 -U postgres -n -M prepared -c "$1" -j "$(($1 < 2 ? 1 : 2))" -T "$seconds" \
        -D store="$store" -D user_id="$user_id" -D session="$session" -D events="$2" \
        -f tests/load/item_create.sql "$db" 2>&1 | awk '/^tps/ { print $3 }'
}

rows=()
for clients in "${levels[@]}"; do
    plain=() with=() former=() app=() p50=() p99=()
    for _ in $(seq 1 "$runs"); do
        plain+=("$(ceiling "$clients" 0)")
        with+=("$(ceiling "$clients" 1)")
        former+=("$(ceiling "$clients" 2)")
        python3 tests/load/latency.py "$a" "$b" "$token" "$probe" "$seconds" >"$work/latency" &
        listener=$!
        sleep 0.5
        out=$(wrk -t"$(($clients < 2 ? 1 : 2))" -c"$clients" -d"${seconds}s" -s "$work/writes.lua" "$a")
        if grep -q "Non-2xx" <<<"$out"; then
            echo "$out" >&2
            echo "writes were refused" >&2
            exit 1
        fi
        app+=("$(awk '/Requests\/sec/ { print $2 }' <<<"$out")")
        wait "$listener"
        read -r count median99 missing <<<"$(awk '{ print $1, $2 "|" $3, $4 }' "$work/latency")"
        [ "$count" -gt 0 ] && [ "$missing" -eq 0 ] || { echo "changes missing on B: $(cat "$work/latency")" >&2; exit 1; }
        p50+=("${median99%|*}")
        p99+=("${median99#*|}")
    done
    row="$clients|$(printf '%s\n' "${app[@]}" | median)|$(printf '%s\n' "${plain[@]}" | median)"
    row+="|$(printf '%s\n' "${with[@]}" | median)|$(printf '%s\n' "${former[@]}" | median)"
    row+="|$(printf '%s\n' "${p50[@]}" | median)|$(printf '%s\n' "${p99[@]}" | median)"
    echo "$clients clients: app ${app[*]}; ceiling ${plain[*]}; with event ${with[*]}; former ${former[*]}" >&2
    rows+=("$row")
done

echo
echo "| clients | POST /api/items per s | ceiling without event row | with event row | former design | app / ceiling | delivery to B, p50 / p99 |"
echo "|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
    IFS='|' read -r clients app plain with former p50 p99 <<<"$row"
    awk -v c="$clients" -v a="$app" -v p="$plain" -v w="$with" -v f="$former" -v m="$p50" -v n="$p99" \
        'BEGIN { printf "| %d | %.0f | %.0f | %.0f (%.2f) | %.0f (%.2f) | %.2f | %s ms / %s ms |\n", c, a, p, w, w / p, f, f / p, a / p, m, n }'
done
