#!/usr/bin/env bash
# Scale-out, with real processes: two Storefront instances on one database
# behind nginx (tests/scale/nginx.conf, round robin), then check.py shows
# that they behave as one: changes through one reach event streams of the
# other within a second (p50/p99 reported), logouts, deactivations and
# login throttling hold across both, and killing one instance loses no
# acknowledged write.
#
#   bash tests/scale/run.sh [BINARY]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres), nginx and python3.
# With SCALE_RESTART_DATABASE set to a command that restarts PostgreSQL, it
# also restarts the database under the surviving instance.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-$root/target/debug/storefront}
db=storefront_scale
nginx=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    { wait; } 2>/dev/null || true
    drop_database || true
    rm -rf "$work"
}
drop_database() {
    psql -q -h 127.0.0.1 -U postgres -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
trap cleanup EXIT

drop_database
# What an operator sets on every instance alike.
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
export ROCKET_IP_HEADER=X-Real-IP ROCKET_SEED_DEMO_DATA=false ROCKET_LOG=warn
"$binary" migrate >/dev/null
password=$("$binary" create-admin --email scale-admin@storefront.test </dev/null | sed -n 's/^Password: \([^ ]*\).*/\1/p')

for port in 18811 18812; do
    ROCKET_PORT=$port "$binary" >"$work/instance-$port.log" 2>&1 &
    pids+=($!)
done
a_pid=${pids[0]}
mkdir -p "$work/tmp"
"$nginx" -p "$work" -c "$here/nginx.conf" -g 'daemon off;' &
pids+=($!)
for url in http://127.0.0.1:18811 http://127.0.0.1:18812 http://127.0.0.1:18810; do
    for _ in $(seq 1 100); do curl -fs -o /dev/null "$url/api/stores" && break; sleep 0.2; done
    curl -fsS -o /dev/null "$url/api/stores"
done

python3 "$here/check.py" http://127.0.0.1:18810 http://127.0.0.1:18811 http://127.0.0.1:18812 \
    scale-admin@storefront.test "$password" "$a_pid"
