#!/usr/bin/env bash
# Fault drill: the release binary under a bounded mixed load (tests/faults/
# load.py) while its PostgreSQL, a private cluster made with initdb on a
# loopback port (never the machine's main server), is stopped, has its
# backends killed, crashes (immediate stop) and is frozen with SIGSTOP for
# longer than the database budget. Reports the 500s (must be 0), the slowest
# 503, the time from each recovery to the first success, acknowledged creates
# missing afterwards (must be 0), and refused creates made afterwards (must be
# 0; only a 503 `outcome_unknown` may have been).
#
#   bash tests/faults/drill.sh [BINARY] [SECONDS]
#
# SECONDS (default 3) is the length of each fault and of each quiet spell
# around it; CI runs the default, `bash tests/faults/drill.sh "" 20` is the
# long form. Without BINARY it builds and uses the release binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-}
phase=${2:-3}
budget=2
pg_port=25432
app_port=18931

if [ -z "$binary" ]; then
    (cd "$root" && cargo build --release --quiet)
    binary=${CARGO_TARGET_DIR:-$root/target}/release/storefront
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || { echo "initdb not found under /usr/lib/postgresql" >&2; exit 1; }

work=$(mktemp -d)
chmod 755 "$work"
data=$work/pgdata
# Sockets and the server log, in a folder the server may write to.
sockets=$work/run
# PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
if [ "$(id -u)" -eq 0 ]; then
    as_pg() { runuser -u postgres -- "$@"; }
    install -d -o postgres -m 700 "$data"
    install -d -o postgres -m 755 "$sockets"
else
    as_pg() { "$@"; }
    mkdir -p "$data" "$sockets"
fi
pg_ctl() { as_pg "$pg_bin/pg_ctl" -D "$data" "$@"; }
pg_start() {
    pg_ctl -w -t 30 -l "$sockets/postgres.log" \
        -o "-p $pg_port -k $sockets -c listen_addresses=127.0.0.1" start >/dev/null || {
        tail -n 20 "$sockets/postgres.log" >&2
        return 1
    }
}
sql() { psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres "$@"; }

app=""
load=""
cleanup() {
    for pid in $load $app; do kill "$pid" 2>/dev/null || true; done
    if [ -f "$data/postmaster.pid" ]; then
        postmaster=$(head -n 1 "$data/postmaster.pid")
        kill -CONT "$postmaster" $(pgrep -P "$postmaster") 2>/dev/null || true
        pg_ctl -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
pg_start

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/drill"
export ROCKET_STAFF_TWO_STEP=optional ROCKET_PROFILE=release ROCKET_PORT=$app_port ROCKET_SECURE_COOKIES=false ROCKET_LOG=warn
export ROCKET_DATABASE_BUDGET_SECONDS=$budget ROCKET_DATABASES="{main={pool_size=8,timeout=$budget}}"
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
# The binary runs from a directory of its own, as deployed.
cd "$work"
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email drill@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')
"$binary" >"$work/app.log" 2>&1 &
app=$!
url=http://127.0.0.1:$app_port
for _ in $(seq 1 100); do curl -fs -o /dev/null "$url/api/stores" && break; sleep 0.2; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -fsS "$url/api/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"drill@storefront.test\",\"password\":\"$password\"}" | json '["access_token"]')
auth="Authorization: Bearer $token"
store=$(curl -fsS "$url/api/stores" -H "$auth" -H 'Content-Type: application/json' -d '{"name":"Drill"}' | json '["id"]')
item=$(curl -fsS "$url/api/items" -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Anchor\",\"price\":\"2.00\",\"store_id\":$store}" | json '["id"]')

frozen=$((phase + budget))
total=$((phase * 9 + frozen + 10))
python3 "$here/load.py" load "$url" "$total" "$work/results" "$token" "$store" "$item" &
load=$!
timeline=$work/timeline
now() { date +%s.%N; }
record() { echo "$1 $2 $(now)" >>"$timeline"; }

sleep "$phase"
echo "stop: PostgreSQL stopped for ${phase} s"
start=$(now); pg_ctl -m fast stop >/dev/null; sleep "$phase"; pg_start; record stop "$start"
sleep "$phase"
echo "kill: every backend terminated, again and again, for ${phase} s"
start=$(now)
until python3 -c "import sys,time; sys.exit(time.time() < $start + $phase)"; do
    sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'drill' AND pid <> pg_backend_pid()" >/dev/null || true
    sleep 0.2
done
record kill "$start"
sleep "$phase"
echo "crash: immediate stop (no checkpoint), restart after 1 s"
start=$(now); pg_ctl -m immediate stop >/dev/null; sleep 1; pg_start; record crash "$start"
sleep "$phase"
echo "freeze: every PostgreSQL process stopped with SIGSTOP for ${frozen} s (budget ${budget} s)"
postmaster=$(head -n 1 "$data/postmaster.pid")
start=$(now)
kill -STOP "$postmaster" $(pgrep -P "$postmaster")
sleep "$frozen"
kill -CONT "$postmaster" $(pgrep -P "$postmaster")
record freeze "$start"

wait "$load"
load=""
sql -d drill -c "SELECT id || '|' || name FROM items" >"$work/ids"
echo
python3 "$here/load.py" report "$work/results" "$timeline" "$work/ids" || {
    echo "--- application log (last 40 lines)"; tail -n 40 "$work/app.log"; exit 1;
}
