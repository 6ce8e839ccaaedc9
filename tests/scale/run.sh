#!/usr/bin/env bash
# Scale-out, with real processes: a private PostgreSQL primary and a
# streaming replica that applies the WAL 1.5 s late (tests/replica/cluster.sh,
# on ports of their own), two Storefront instances that read from the
# replica when they may, behind nginx (tests/scale/nginx.conf, round robin).
# check.py then shows that they behave as one: changes through one reach
# event streams of the other within a second (p50/p99 reported), a client
# reads its own writes through the other instance every time although the
# replica lags, logouts, deactivations and login throttling hold across
# both; replica.py that the replica serves reads, that stopping it or
# delaying it past the bound sends them to the primary without an error;
# then killing one instance loses no acknowledged write, and the primary
# restarts under the other.
#
#   bash tests/scale/run.sh [BINARY]
#
# Needs PostgreSQL's server programs (/usr/lib/postgresql/*/bin), nginx and
# python3; the machine's own PostgreSQL server is not used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
binary=${1:-$root/target/debug/storefront}
db=storefront_scale
nginx=$(command -v nginx || echo /usr/sbin/nginx)
work=$(mktemp -d)
primary_port=25451
replica_port=25452
pids=()
# shellcheck source=tests/replica/cluster.sh
. "$root/tests/replica/cluster.sh"
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    { wait; } 2>/dev/null || true
    cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT

chmod 755 "$work" && mkdir "$work/cluster"
cluster_start "$work/cluster" $primary_port $replica_port 1500ms
# What an operator sets on every instance alike.
export DATABASE_URL=postgres://postgres@127.0.0.1:$primary_port/$db
export ROCKET_REPLICA_URLS=postgres://postgres@127.0.0.1:$replica_port/$db ROCKET_REPLICA_MAX_LAG_MS=3000
ROCKET_SECRET_KEY=$(openssl rand -base64 32)
ROCKET_JWT_SECRET=$(openssl rand -base64 48)
export ROCKET_SECRET_KEY ROCKET_JWT_SECRET
# Far past an hour's API budget, though still counted: the budgets are not what is measured.
export ROCKET_API_WRITES_PER_HOUR=1000000000 ROCKET_API_READS_PER_HOUR=1000000000
export ROCKET_IP_HEADER=X-Real-IP ROCKET_SEED_DEMO_DATA=false
# Every request logged, as JSON: replica.py counts where reads went.
export ROCKET_LOG=info ROCKET_LOG_FORMAT=json
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

export SCALE_LOGS="$work/instance-18811.log $work/instance-18812.log"
export SCALE_CLUSTER="bash $root/tests/replica/cluster.sh $work/cluster $primary_port $replica_port"
export SCALE_RESTART_DATABASE="$SCALE_CLUSTER primary_restart"
python3 "$here/check.py" http://127.0.0.1:18810 http://127.0.0.1:18811 http://127.0.0.1:18812 \
    scale-admin@storefront.test "$password" "$a_pid"
