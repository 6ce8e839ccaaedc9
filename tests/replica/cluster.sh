# A private PostgreSQL primary and a streaming replica of it, for tests:
# `initdb`, then `pg_basebackup -R -X stream` into a hot standby that applies
# what it receives `recovery_min_apply_delay` late, so that a read that goes
# to the replica too early shows. Both listen on 127.0.0.1 on ports of their
# own; the machine's server is never touched. Source this file, then:
#
#   cluster_start WORK PRIMARY_PORT REPLICA_PORT APPLY_DELAY   # e.g. 1500ms
#   cluster_replica_stop / cluster_replica_start
#   cluster_replica_delay DELAY     # a new apply delay, at once
#   cluster_primary_restart
#   cluster_stop
#
# Or, on a cluster already started, as a command:
#
#   bash cluster.sh WORK PRIMARY_PORT REPLICA_PORT replica_stop|replica_start|primary_restart
#   bash cluster.sh WORK PRIMARY_PORT REPLICA_PORT replica_delay DELAY
#
# As root, the clusters belong to the `postgres` user (PostgreSQL refuses to
# run as root).

cluster_pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

cluster_as_pg() { # from /, which `postgres` may enter wherever the caller is
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

cluster_dir() { # WORK/NAME, owned by whoever runs the servers
    if [ "$(id -u)" -eq 0 ]; then install -d -o postgres -m 700 "$1"; else mkdir -p -m 700 "$1"; fi
}

cluster_server_start() { # DATA PORT: TCP on 127.0.0.1 only, no Unix socket
    # The ports are below Linux's ephemeral range (32768-60999), where an
    # outgoing connection could hold them; a failed start shows the log.
    cluster_as_pg "$cluster_pg_bin/pg_ctl" -D "$1" -w -t 60 -l "$1.log" \
        -o "-p $2 -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null || {
        tail -n 20 "$1.log" >&2
        return 1
    }
}

cluster_attach() { # WORK PRIMARY_PORT REPLICA_PORT
    cluster_work=$1 cluster_primary_port=$2 cluster_replica_port=$3
    cluster_primary=$cluster_work/primary
    cluster_replica=$cluster_work/replica
}

cluster_start() {
    cluster_attach "$1" "$2" "$3"
    local delay=$4
    [ -x "$cluster_pg_bin/initdb" ] || { echo "initdb not found under /usr/lib/postgresql" >&2; return 1; }
    chmod 755 "$cluster_work"
    # The server logs (DATA.log) go beside the data folders.
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$cluster_work"; fi
    cluster_dir "$cluster_primary"
    cluster_as_pg "$cluster_pg_bin/initdb" -D "$cluster_primary" -U postgres --auth=trust -E UTF8 >/dev/null
    cluster_as_pg tee -a "$cluster_primary/postgresql.conf" >/dev/null <<CONF
wal_level = replica
max_wal_senders = 4
hot_standby = on
CONF
    cluster_as_pg tee -a "$cluster_primary/pg_hba.conf" >/dev/null <<HBA
host replication postgres 127.0.0.1/32 trust
HBA
    cluster_server_start "$cluster_primary" "$cluster_primary_port"
    cluster_dir "$cluster_replica"
    cluster_as_pg "$cluster_pg_bin/pg_basebackup" -h 127.0.0.1 -p "$cluster_primary_port" -U postgres \
        -D "$cluster_replica" -R -X stream >/dev/null
    cluster_as_pg tee -a "$cluster_replica/postgresql.conf" >/dev/null <<CONF
recovery_min_apply_delay = '$delay'
CONF
    cluster_replica_start
}

cluster_replica_start() { cluster_server_start "$cluster_replica" "$cluster_replica_port"; }

cluster_replica_stop() {
    cluster_as_pg "$cluster_pg_bin/pg_ctl" -D "$cluster_replica" -m fast stop >/dev/null 2>&1 || true
}

cluster_replica_delay() {
    cluster_as_pg "$cluster_pg_bin/psql" -q -h 127.0.0.1 -p "$cluster_replica_port" -U postgres -d postgres \
        -c "ALTER SYSTEM SET recovery_min_apply_delay = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
}

cluster_primary_restart() {
    cluster_as_pg "$cluster_pg_bin/pg_ctl" -D "$cluster_primary" -w -t 60 -l "$cluster_primary.log" -m fast restart \
        >/dev/null
}

cluster_stop() {
    for data in "$cluster_replica" "$cluster_primary"; do
        [ -f "$data/postmaster.pid" ] &&
            cluster_as_pg "$cluster_pg_bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
    done
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    cluster_attach "$1" "$2" "$3"
    command=$4
    shift 4
    "cluster_$command" "$@"
fi
