#!/usr/bin/env bash
# Runs a Tributary cluster on this machine's loopback:
#   up [--secure] [N] | down | status | kill ID | stop ID | start ID | restart ID | logs ID [-f] [-n LINES]
# See deploy/README.md. Processes are found and signalled only through their pid files, never by name.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_ROOT="${TRIBUTARY_DATA_DIR:-$REPO_ROOT/data}"  # --data-dir overrides
BASE_PORT="${TRIBUTARY_PORT:-9092}"                 # --port overrides
JAVA_BIN="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVA_HEAP="${TRIBUTARY_HEAP:--Xmx512m}"
# Serial GC: a node's live heap is small (16-22 MB after a young collection under bench/run.sh's load), so one
# thread copies it in 1.5-2 ms, without the concurrent and parallel GC threads that only compete for the cores with
# the other nodes on a small machine, and without G1's remembered sets and marking bitmaps (48 MB of native memory
# per node at a 256 MB heap, docs/benchmarks.md). MetaspaceSize above the ~52 MB a node's classes take, so that
# metaspace growth never triggers a full collection. For multi-GB heaps on big machines set TRIBUTARY_JVM_OPTS
# to G1 (Kafka's flags: -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35).
NETTY_ARENAS="-Dio.netty.allocator.numDirectArenas=1 -Dio.netty.allocator.numHeapArenas=1"
NETTY_ARENAS+=" -Dio.grpc.netty.shaded.io.netty.allocator.numDirectArenas=1"
NETTY_ARENAS+=" -Dio.grpc.netty.shaded.io.netty.allocator.numHeapArenas=1"
NETTY_ARENAS+=" -Dorg.apache.ratis.thirdparty.io.netty.allocator.numDirectArenas=1"
NETTY_ARENAS+=" -Dorg.apache.ratis.thirdparty.io.netty.allocator.numHeapArenas=1"
JAVA_OPTS="${TRIBUTARY_JVM_OPTS:--XX:+UseSerialGC -XX:MetaspaceSize=96m -Djava.awt.headless=true $NETTY_ARENAS}"
JAVA_OPTS+="${TRIBUTARY_EXTRA_JVM_OPTS:+ $TRIBUTARY_EXTRA_JVM_OPTS}"
# glibc's malloc keeps up to 8 arenas per core, mostly idle memory in a JVM; two are plenty for its native
# allocations (JIT, Netty's pooled direct memory).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
START_DEADLINE_S=90
STOP_DEADLINE_S=30
DEFAULT_NODES=3
SECURE=0                                            # up --secure
# Voters bind Ratis (the metadata quorum) on PORT + RATIS_OFFSET + i - 1.
RATIS_OFFSET=100
# Every node serves partition replication (followers fetch from leaders over gRPC) on
# PORT + REPLICATION_OFFSET + i - 1, written as replication.listener (the node's default is the same port).
REPLICATION_OFFSET=200
# PORT + METRICS_OFFSET + i - 1 serves GET /metrics and /health (metrics.listener).
METRICS_OFFSET=300
MAIN_CLASS="io.tributary.node.TributaryNode"
TARGET_DIR="$REPO_ROOT/broker-node/target"
LIB_DIR="$TARGET_DIR/lib"

usage() {
    cat >&2 <<EOF
usage: $(basename "$0") [--port P] [--data-dir DIR] COMMAND
  up [N]       write config for nodes 1..N (N = 1..9, default ${DEFAULT_NODES}; voters are nodes 1-3, or node 1 when
               N = 2; N = 1 is a standalone node), build first if needed, start them together, wait up to
               ${START_DEADLINE_S}s until every node is registered and a controller is active, then print
               bootstrap.servers and the nodes' metrics URLs
  up --secure [N]  the same, secured: a throwaway CA and node certificates (DIR/secure), a SASL_SSL client listener
               (SCRAM-SHA-512) with ACLs on and an 'admin' super user, mutual TLS between nodes; also prints
               client.config=<path>, a Kafka client config (admin) for --command-config / --producer.config
  down         SIGTERM every node, wait up to ${STOP_DEADLINE_S}s (then SIGKILL) until none is left running
  wipe         delete every node's config, log and data under DIR (refused while a node runs)
  status       every node (pid, alive/dead, registered, role, ports, health); with kcat on PATH also the active
               controller, every partition's leader, replicas and ISR, and the under-replicated and offline counts
  kill ID      SIGKILL node ID (its data stays)
  stop ID      SIGTERM node ID and wait until it has exited (SIGKILL after ${STOP_DEADLINE_S}s)
  start ID     start node ID again on its existing config and data, wait until it listens
  restart ID   stop ID, then start ID
  logs ID      the last lines of node ID's log (-n LINES, default 100; -f follows it)
options and environment (a flag wins over the variable):
  --port P, TRIBUTARY_PORT (default 9092): node i listens for clients on P+i-1, for Ratis (voters) on
      P+${RATIS_OFFSET}+i-1, for replication on P+${REPLICATION_OFFSET}+i-1 and for HTTP (/metrics, /health) on P+${METRICS_OFFSET}+i-1
  --data-dir DIR, TRIBUTARY_DATA_DIR (default ./data): node i keeps config, log, pid file and data in DIR/node-i
  TRIBUTARY_HEAP (default -Xmx512m): the JVM heap flag of every node
  TRIBUTARY_JVM_OPTS (default the serial GC, MetaspaceSize=96m and one Netty buffer arena per Netty copy): the
      other JVM flags of every node; MALLOC_ARENA_MAX (default 2)
  TRIBUTARY_EXTRA_JVM_OPTS: JVM flags added after those (e.g. -XX:NativeMemoryTracking=summary)
  TRIBUTARY_NODE_CONFIG: extra key=value settings (space-separated) that 'up' adds to every node's config, e.g.
      "num.partitions=6 min.insync.replicas=2"
EOF
    exit 2
}

die() { echo "cluster.sh: $*" >&2; exit 1; }

node_dir() { echo "$DATA_ROOT/node-$1"; }
pid_file() { echo "$(node_dir "$1")/node.pid"; }

# The broker jar itself, not a -sources/-tests/-javadoc jar.
node_jar() {
    local jar
    for jar in "$TARGET_DIR"/tributary-broker-node-*.jar; do
        case "$jar" in
            *-sources.jar | *-tests.jar | *-javadoc.jar) ;;
            *) [[ -f "$jar" ]] && { echo "$jar"; return 0; } ;;
        esac
    done
    return 1
}

ensure_built() {
    if ! node_jar >/dev/null || [[ ! -d "$LIB_DIR" ]]; then
        echo "building (mvn -B -q -DskipTests package) ..." >&2
        (cd "$REPO_ROOT" && mvn -B -q -DskipTests package)
    fi
    node_jar >/dev/null || die "no broker jar in $TARGET_DIR after the build"
    [[ -d "$LIB_DIR" ]] || die "no $LIB_DIR after the build (copy-dependencies missing?)"
}

# Pid of node $1 if its pid file names a live Tributary JVM; the cmdline check guards against pid reuse.
live_pid() {
    local file pid
    file="$(pid_file "$1")"
    [[ -f "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$MAIN_CLASS" || return 1
    echo "$pid"
}

node_port() {
    local props
    props="$(node_dir "$1")/node.properties"
    [[ -f "$props" ]] || { echo "-"; return 0; }
    sed -n 's/^listeners=.*:\([0-9][0-9]*\)$/\1/p' "$props" | head -n 1
}

# Replication port of node $1 from its replication.listener, else "-".
node_replication_port() {
    local props port
    props="$(node_dir "$1")/node.properties"
    [[ -f "$props" ]] || { echo "-"; return 0; }
    port="$(sed -n 's/^replication\.listener=.*:\([0-9][0-9]*\)$/\1/p' "$props" | head -n 1)"
    echo "${port:--}"
}

# HTTP (/metrics, /health) port of node $1 from its metrics.listener, else "-".
node_metrics_port() {
    local props port
    props="$(node_dir "$1")/node.properties"
    [[ -f "$props" ]] || { echo "-"; return 0; }
    port="$(sed -n 's/^metrics\.listener=.*:\([0-9][0-9]*\)$/\1/p' "$props" | head -n 1)"
    echo "${port:--}"
}

# Ratis port of node $1 if its config lists it among the voters, else "-".
node_ratis_port() {
    local props voters entry
    props="$(node_dir "$1")/node.properties"
    [[ -f "$props" ]] || { echo "-"; return 0; }
    voters="$(sed -n 's/^controller\.quorum\.voters=//p' "$props" | head -n 1)"
    for entry in ${voters//,/ }; do
        if [[ "${entry%%@*}" == "$1" ]]; then
            echo "${entry##*:}"
            return 0
        fi
    done
    echo "-"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# controller.quorum.voters of an N-node cluster: nodes 1-3 (node 1 when N = 2); empty for a standalone node.
voters_for() {
    local count="$1" voter_count id entries=()
    ((count >= 2)) || return 0
    voter_count=1
    ((count >= 3)) && voter_count=3
    for ((id = 1; id <= voter_count; id++)); do
        entries+=("$id@127.0.0.1:$((BASE_PORT + RATIS_OFFSET + id - 1))")
    done
    (IFS=,; echo "${entries[*]}")
}

secure_dir() { echo "$DATA_ROOT/secure"; }

# Certificates, the admin password and the client configs of a secure cluster, made once per data dir.
ensure_secure_material() {
    local dir hosts=() i certs_password admin_password
    dir="$(secure_dir)"
    if [[ ! -f "$dir/certs/ca.p12" ]]; then
        for ((i = 1; i <= 9; i++)); do hosts+=("127.0.0.1"); done
        mkdir -p "$dir"
        bash "$REPO_ROOT/deploy/make-certs.sh" "$dir/certs" "${hosts[@]}" >&2 || die "could not make certificates"
    fi
    if [[ ! -f "$dir/admin-password" ]]; then
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/admin-password")
    fi
    certs_password="$(<"$dir/certs/password")"
    admin_password="$(<"$dir/admin-password")"
    (
        umask 077
        cat >"$dir/client.config" <<EOF
# Kafka client settings of the admin user of the cluster made by deploy/cluster.sh up --secure
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
ssl.truststore.location=$dir/certs/truststore.p12
ssl.truststore.type=PKCS12
ssl.truststore.password=$certs_password
EOF
        # The same admin over PLAIN: only to create the first SCRAM user (the listener's bootstrap user).
        sed -e 's/^sasl.mechanism=.*/sasl.mechanism=PLAIN/' -e 's/scram.ScramLoginModule/plain.PlainLoginModule/' \
            "$dir/client.config" >"$dir/bootstrap-plain.config"
        cat >"$dir/kcat.config" <<EOF
security.protocol=sasl_ssl
sasl.mechanisms=SCRAM-SHA-512
sasl.username=admin
sasl.password=$admin_password
ssl.ca.location=$dir/certs/ca.pem
EOF
    )
}

# Turns node $1's config $3 into a secure one: SASL_SSL on client port $2, ACLs, mutual TLS between nodes.
write_secure_config() {
    local id="$1" port="$2" props="$3" secure certs_password admin_password
    secure="$(secure_dir)"
    certs_password="$(<"$secure/certs/password")"
    admin_password="$(<"$secure/admin-password")"
    chmod 600 "$props"
    sed -i -e "s|^listeners=.*|listeners=SASL_SSL://127.0.0.1:$port|" \
        -e "s|^advertised.listeners=.*|advertised.listeners=SASL_SSL://127.0.0.1:$port|" "$props"
    cat >>"$props" <<EOF
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="$admin_password";
ssl.keystore.location=$secure/certs/node-$id.p12
ssl.keystore.type=PKCS12
ssl.keystore.password=$certs_password
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
inter.node.security.protocol=SSL
inter.node.ssl.keystore.location=$secure/certs/node-$id.p12
inter.node.ssl.keystore.password=$certs_password
inter.node.ssl.truststore.location=$secure/certs/truststore.p12
inter.node.ssl.truststore.password=$certs_password
EOF
}

# Config of node $1 (client port $2) in a cluster of $4 nodes with voters $3. Topics created without a replication
# factor (auto-created ones too) get min(N, 3) replicas, so that a node's loss is survived by default.
write_config() {
    local id="$1" port="$2" voters="$3" count="$4" dir
    dir="$(node_dir "$id")"
    mkdir -p "$dir/data"
    cat >"$dir/node.properties" <<EOF
# Generated by deploy/cluster.sh up; edit and use 'cluster.sh start $id' to keep changes.
node.id=$id
listeners=PLAINTEXT://127.0.0.1:$port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
replication.listener=127.0.0.1:$((port + REPLICATION_OFFSET))
metrics.listener=127.0.0.1:$((port + METRICS_OFFSET))
data.dir=$dir/data
num.partitions=1
default.replication.factor=$((count < 3 ? count : 3))
auto.create.topics.enable=true
EOF
    if [[ -n "$voters" ]]; then
        echo "controller.quorum.voters=$voters" >>"$dir/node.properties"
    fi
    if [[ -n "${TRIBUTARY_NODE_CONFIG:-}" ]]; then
        # Later lines win: these override the defaults above.
        printf '%s\n' $TRIBUTARY_NODE_CONFIG >>"$dir/node.properties"
    fi
    if ((SECURE == 1)); then
        write_secure_config "$id" "$port" "$dir/node.properties"
    fi
}

# Launches node $1 in the background and writes its pid file, without waiting for it to listen.
spawn_node() {
    local id="$1" dir port ratis_port replication_port pid jar
    dir="$(node_dir "$id")"
    [[ -f "$dir/node.properties" ]] || die "node $id has no config at $dir/node.properties (run 'up' first)"
    if pid="$(live_pid "$id")"; then
        echo "node $id already running (pid $pid)" >&2
        return 0
    fi
    port="$(node_port "$id")"
    [[ -n "$port" && "$port" != "-" ]] || die "cannot read the client port of node $id from its listeners"
    if port_open "$port"; then
        die "port $port is already in use by another process; choose another with --port or TRIBUTARY_PORT"
    fi
    ratis_port="$(node_ratis_port "$id")"
    if [[ "$ratis_port" != "-" ]] && port_open "$ratis_port"; then
        die "Ratis port $ratis_port of node $id is already in use; choose another with --port or TRIBUTARY_PORT"
    fi
    replication_port="$(node_replication_port "$id")"
    if [[ "$replication_port" != "-" ]] && port_open "$replication_port"; then
        die "replication port $replication_port of node $id is already in use; choose another with --port or" \
            "TRIBUTARY_PORT"
    fi
    jar="$(node_jar)"
    # setsid detaches the node from this shell's session so that it outlives the terminal; in a script the
    # background child is not a process-group leader, so setsid and nohup exec in place and $! is the JVM.
    # shellcheck disable=SC2086
    setsid nohup "$JAVA_BIN" $JAVA_HEAP $JAVA_OPTS -cp "$jar:$LIB_DIR/*" "$MAIN_CLASS" "$dir/node.properties" \
        >>"$dir/node.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$(pid_file "$id")"
}

# Waits until node $1 accepts connections on its client port, until $2 (a value of $SECONDS) at the latest.
# In a cluster a node listens only after it registered with the active controller, which needs a voter quorum.
await_node() {
    local id="$1" deadline="$2" dir port pid
    dir="$(node_dir "$id")"
    port="$(node_port "$id")"
    pid="$(cat "$(pid_file "$id")" 2>/dev/null)" || { echo "node $id has no pid file" >&2; return 1; }
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$(pid_file "$id")"
            echo "node $id (pid $pid) exited during start-up; tail of $dir/node.log:" >&2
            tail -n 40 "$dir/node.log" >&2 || true
            return 1
        fi
        if ((SECONDS >= deadline)); then
            echo "node $id (pid $pid) did not accept connections on $port within ${START_DEADLINE_S}s;" \
                "it is left running (use 'down'); tail of $dir/node.log:" >&2
            tail -n 40 "$dir/node.log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    echo "node $id started (pid $pid, port $port, log $dir/node.log)" >&2
}

start_node() {
    spawn_node "$1"
    await_node "$1" $((SECONDS + START_DEADLINE_S)) || exit 1
}

# SIGTERMs every node given, then waits for all of them together: stopped one after the other, the last nodes
# of a cluster would wait in their shutdown for a quorum that is already gone.
stop_nodes() {
    local id pid i alive deadline ids=() pids=()
    for id in "$@"; do
        if pid="$(live_pid "$id")"; then
            kill -TERM "$pid" 2>/dev/null || true
            ids+=("$id")
            pids+=("$pid")
        else
            rm -f "$(pid_file "$id")"
        fi
    done
    deadline=$((SECONDS + STOP_DEADLINE_S))
    while :; do
        alive=0
        for pid in ${pids[@]+"${pids[@]}"}; do
            if kill -0 "$pid" 2>/dev/null; then alive=1; fi
        done
        ((alive == 1 && SECONDS < deadline)) || break
        sleep 0.2
    done
    for i in ${ids[@]+"${!ids[@]}"}; do
        id="${ids[$i]}"
        pid="${pids[$i]}"
        # live_pid re-checks the cmdline: a pid recycled since the SIGTERM is never signalled.
        if live_pid "$id" >/dev/null; then
            echo "node $id (pid $pid) still alive after ${STOP_DEADLINE_S}s, sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            await_exit "$pid"
        fi
        rm -f "$(pid_file "$id")"
        echo "node $id stopped (pid $pid)"
    done
}

# Waits (up to 10 s) until pid $1 is gone; a SIGKILLed process is gone as soon as the kernel has reaped it.
await_exit() {
    local deadline=$((SECONDS + 10))
    while kill -0 "$1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
}

kill_node() {
    local id="$1" pid
    pid="$(live_pid "$id")" || die "node $id is not running"
    kill -KILL "$pid"
    await_exit "$pid"
    rm -f "$(pid_file "$id")"
    echo "node $id killed (pid $pid)"
}

# A node id given on the command line must name a node that 'up' configured.
check_id() {
    [[ "$1" =~ ^[1-9]$ ]] || die "node id must be 1..9, was '$1'"
    [[ -f "$(node_dir "$1")/node.properties" ]] || die "node $1 has no config at $(node_dir "$1") (run 'up' first)"
}

stop_node() {
    live_pid "$1" >/dev/null || { rm -f "$(pid_file "$1")"; echo "node $1 is not running"; return 0; }
    stop_nodes "$1"
}

cmd_logs() {
    local id="$1" follow="$2" lines="$3" log
    log="$(node_dir "$id")/node.log"
    [[ -f "$log" ]] || die "node $id has no log yet ($log)"
    if [[ "$follow" == 1 ]]; then
        exec tail -n "$lines" -F "$log"
    fi
    tail -n "$lines" "$log"
}

# Ids of every node that has a directory under the data root, in numeric order.
node_ids() {
    local dir
    for dir in "$DATA_ROOT"/node-*; do
        [[ -d "$dir" ]] || continue
        dir="${dir##*/node-}"
        [[ "$dir" =~ ^[0-9]+$ ]] && echo "$dir"
    done | sort -n
}

have_kcat() { command -v kcat >/dev/null 2>&1; }

# kcat -L from the live nodes; fails if no node is alive or none answers within 15 s.
kcat_listing() {
    local id servers=()
    for id in $(node_ids); do
        if live_pid "$id" >/dev/null; then servers+=("127.0.0.1:$(node_port "$id")"); fi
    done
    ((${#servers[@]})) || return 1
    local opts=()
    # A secure cluster (up --secure) is listed as its admin.
    [[ -f "$(secure_dir)/kcat.config" ]] && opts=(-F "$(secure_dir)/kcat.config")
    (IFS=,; timeout 15 kcat ${opts[@]+"${opts[@]}"} -b "${servers[*]}" -L -m 5 2>/dev/null)
}

# Ids of the brokers that kcat -L output $1 lists (registered and unfenced), one per line.
listed_brokers() {
    sed -n 's/^  broker \([0-9][0-9]*\) at .*/\1/p' <<<"$1"
}

# Waits until kcat -L names a controller and lists nodes 1..$1 as brokers, until $2 (a value of $SECONDS) at
# the latest.
await_controller() {
    local count="$1" deadline="$2" listing="" id missing
    while :; do
        listing="$(kcat_listing || true)"
        missing=""
        for ((id = 1; id <= count; id++)); do
            listed_brokers "$listing" | grep -qx "$id" || missing+=" $id"
        done
        if [[ -z "$missing" ]] && grep -q '(controller)' <<<"$listing"; then
            echo "active controller: $(grep '(controller)' <<<"$listing" | sed 's/^ *//')" >&2
            return 0
        fi
        if ((SECONDS >= deadline)); then
            echo "no active controller with nodes 1..$count registered within ${START_DEADLINE_S}s" \
                "(not registered:${missing:- none}); last kcat -L:" >&2
            echo "${listing:-(no answer)}" >&2
            return 1
        fi
        sleep 0.5
    done
}

cmd_up() {
    local count="$1" id voters deadline port failed=0 servers=() urls=()
    [[ "$count" =~ ^[1-9]$ ]] || usage
    [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "port must be a number: $BASE_PORT"
    ensure_built
    # A data dir belongs to one cluster shape: another one would fail in every node ("data dir belongs to cluster").
    local shape="$count nodes" recorded
    ((SECURE == 1)) && shape+=", secure"
    recorded="$(recorded_shape || true)"
    if [[ -n "$recorded" && "$recorded" != "$shape" ]]; then
        die "$DATA_ROOT holds a cluster of $recorded, not $shape: run 'cluster.sh --data-dir $DATA_ROOT down'" \
            "then 'cluster.sh --data-dir $DATA_ROOT wipe' to start afresh (this deletes its data), or use another" \
            "--data-dir"
    fi
    if ((SECURE == 1)); then
        ensure_secure_material
    fi
    mkdir -p "$DATA_ROOT"
    echo "$shape" >"$DATA_ROOT/cluster.shape"
    voters="$(voters_for "$count")"
    for ((id = 1; id <= count; id++)); do
        if live_pid "$id" >/dev/null; then
            echo "node $id already running; keeping its config" >&2
        else
            write_config "$id" $((BASE_PORT + id - 1)) "$voters" "$count"
        fi
    done
    # Start every node before waiting for any: no voter finishes starting until a quorum of voters runs.
    for ((id = 1; id <= count; id++)); do spawn_node "$id"; done
    deadline=$((SECONDS + START_DEADLINE_S))
    for ((id = 1; id <= count; id++)); do
        await_node "$id" "$deadline" || failed=1
    done
    ((failed == 0)) || exit 1
    if ((SECURE == 1)); then
        # The admin logs in over PLAIN (the listener's bootstrap user) to create its own SCRAM credential.
        "$JAVA_BIN" -Xmx128m -cp "$(node_jar):$LIB_DIR/*" io.tributary.node.tools.AddScramUser \
            <(echo "bootstrap.servers=127.0.0.1:$BASE_PORT"; cat "$(secure_dir)/bootstrap-plain.config") admin \
            "$(secure_dir)/admin-password" SCRAM-SHA-512 || die "could not create the SCRAM user admin"
    fi
    if have_kcat; then
        await_controller "$count" "$deadline" || exit 1
    else
        echo "kcat is not on PATH: checked that every client port listens, not that a controller is active" >&2
    fi
    for ((id = 1; id <= count; id++)); do
        servers+=("127.0.0.1:$(node_port "$id")")
        port="$(node_metrics_port "$id")"
        [[ "$port" == "-" ]] || urls+=("http://127.0.0.1:$port/metrics")
    done
    (IFS=,; echo "bootstrap.servers=${servers[*]}")
    (IFS=,; echo "metrics.urls=${urls[*]-}")
    if ((SECURE == 1)); then
        local config
        config="$(secure_dir)/client.config"
        # bootstrap.servers goes in too, so that the file works on its own (--producer.config)
        sed -i '/^bootstrap.servers=/d' "$config"
        (IFS=,; echo "bootstrap.servers=${servers[*]}" >>"$config")
        echo "client.config=$config"
    fi
}

cmd_down() {
    local ids
    mapfile -t ids < <(node_ids)
    stop_nodes ${ids[@]+"${ids[@]}"}
}

cmd_wipe() {
    local id
    for id in $(node_ids); do
        if live_pid "$id" >/dev/null; then
            die "node $id is running: 'down' first, then 'wipe'"
        fi
    done
    for id in $(node_ids); do
        rm -rf "$(node_dir "$id")"
    done
    rm -rf "$(secure_dir)" "$DATA_ROOT/cluster.shape"
    echo "wiped the nodes under $DATA_ROOT"
}

# The shape (node count and security) the data under DATA_ROOT was made for, if any.
recorded_shape() {
    if [[ -f "$DATA_ROOT/cluster.shape" ]]; then
        cat "$DATA_ROOT/cluster.shape"
        return 0
    fi
    # Made before the shape was recorded: judge by the node folders.
    local count
    count="$(node_ids | wc -l)"
    ((count > 0)) || return 1
    if [[ -d "$(secure_dir)" ]]; then echo "$count nodes, secure"; else echo "$count nodes"; fi
}

# GET /health of the node with HTTP port $1: "ok" (200), the HTTP code, "down" (no answer) or "-" (no curl/port).
node_health() {
    local code
    [[ "$1" != "-" ]] && command -v curl >/dev/null 2>&1 || { echo "-"; return 0; }
    code="$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/health" 2>/dev/null || true)"
    case "$code" in
        200) echo ok ;;
        000 | "") echo down ;;
        *) echo "$code" ;;
    esac
}

cmd_status() {
    local id pid state role ratis_port registered listing="" kcat_ok=0
    if have_kcat && listing="$(kcat_listing)"; then kcat_ok=1; fi
    printf '%-3s %-8s %-6s %-10s %-7s %-6s %-6s %-6s %-7s %s\n' \
        ID PID STATE REGISTERED ROLE PORT RATIS REPL HTTP HEALTH
    for id in $(node_ids); do
        if pid="$(live_pid "$id")"; then
            state=alive
        else
            state=dead
            pid="$(cat "$(pid_file "$id")" 2>/dev/null || echo -)"
        fi
        registered="?"
        if ((kcat_ok)); then
            registered=no
            listed_brokers "$listing" | grep -qx "$id" && registered=yes
        fi
        ratis_port="$(node_ratis_port "$id")"
        role=broker
        if [[ "$ratis_port" != "-" ]]; then
            role=voter
        elif ! grep -q '^controller\.quorum\.voters=.' "$(node_dir "$id")/node.properties" 2>/dev/null; then
            role=single
        fi
        printf '%-3s %-8s %-6s %-10s %-7s %-6s %-6s %-6s %-7s %s\n' "$id" "$pid" "$state" "$registered" "$role" \
            "$(node_port "$id")" "$ratis_port" "$(node_replication_port "$id")" "$(node_metrics_port "$id")" \
            "$([[ "$state" == alive ]] && node_health "$(node_metrics_port "$id")" || echo -)"
    done
    if ! have_kcat; then
        echo
        echo "(kcat is not on PATH: install it (apt-get install kcat) to see the active controller and the partitions)"
        return 0
    fi
    if ((kcat_ok == 0)); then
        echo
        echo "(no live node answered kcat -L)"
        return 0
    fi
    echo
    # kcat -L prints '  broker 2 at 127.0.0.1:9093 (controller)', then per topic '  topic "t" with 6 partitions:'
    # followed by '    partition 0, leader 1, replicas: 1,2,3, isrs: 1,2,3' (leader -1: none; a partition or
    # topic error is appended as ', Broker: ...').
    awk '
        function field(line, name,    rest) {
            if (!match(line, name "[^,]*(,[0-9]+)*")) return ""
            rest = substr(line, RSTART + length(name), RLENGTH - length(name))
            gsub(/ /, "", rest)
            return rest
        }
        function count(list,    n, parts) {
            if (list == "") return 0
            return split(list, parts, ",")
        }
        /^ +[0-9]+ brokers:/ { live = $1 }
        /^  broker .*\(controller\)/ { controller = $2 }
        /^  topic "/ {
            topic = $2; gsub(/"/, "", topic)
            if ($0 ~ /Broker:/) errors = errors sprintf("topic %s: %s\n", topic, $0)
        }
        /^    partition / {
            partition = $2; sub(/,/, "", partition)
            leader = field($0, "leader ")
            replicas = field($0, "replicas: ")
            isr = field($0, "isrs: ")
            flags = ""
            total++
            if (leader == "" || leader == "-1") { offline++; flags = flags " offline" }
            if (count(isr) < count(replicas)) { under++; flags = flags " under-replicated" }
            rows = rows sprintf("%-24s %-9s %-6s %-14s %-14s%s\n", topic, partition, (leader == "" ? "-1" : leader),
                (replicas == "" ? "-" : replicas), (isr == "" ? "-" : isr), flags)
        }
        END {
            print "active controller: " (controller == "" ? "none" : controller) ", live brokers: " (live == "" ? 0 : live)
            if (rows != "") {
                printf "\n%-24s %-9s %-6s %-14s %s\n", "TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"
                printf "%s", rows
            }
            printf "%s", errors
            printf "\npartitions: %d, under-replicated: %d, offline: %d\n", total, under, offline
        }
    ' <<<"$listing"
}

main() {
    local args=() follow=0 lines=100
    while (($#)); do
        case "$1" in
            --port) [[ $# -ge 2 ]] || usage; BASE_PORT="$2"; shift 2 ;;
            --port=*) BASE_PORT="${1#--port=}"; shift ;;
            --data-dir) [[ $# -ge 2 ]] || usage; DATA_ROOT="$2"; shift 2 ;;
            --data-dir=*) DATA_ROOT="${1#--data-dir=}"; shift ;;
            --secure) SECURE=1; shift ;;
            -f | --follow) follow=1; shift ;;
            -n) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || usage; lines="$2"; shift 2 ;;
            -h | --help) usage ;;
            -*) echo "cluster.sh: unknown option $1" >&2; usage ;;
            *) args+=("$1"); shift ;;
        esac
    done
    ((${#args[@]})) || usage
    [[ "$BASE_PORT" =~ ^[0-9]+$ ]] && ((BASE_PORT >= 1 && BASE_PORT + 300 + 8 <= 65535)) \
        || die "port must be a number from 1 to $((65535 - 308)), was '$BASE_PORT'"
    local cmd="${args[0]}"
    case "$cmd" in
        up) ((${#args[@]} <= 2)) || usage; cmd_up "${args[1]:-$DEFAULT_NODES}" ;;
        down) ((${#args[@]} == 1)) || usage; cmd_down ;;
        wipe) ((${#args[@]} == 1)) || usage; cmd_wipe ;;
        status) ((${#args[@]} == 1)) || usage; cmd_status ;;
        kill) ((${#args[@]} == 2)) || usage; check_id "${args[1]}"; kill_node "${args[1]}" ;;
        stop) ((${#args[@]} == 2)) || usage; check_id "${args[1]}"; stop_node "${args[1]}" ;;
        start) ((${#args[@]} == 2)) || usage; check_id "${args[1]}"; ensure_built; start_node "${args[1]}" ;;
        restart)
            ((${#args[@]} == 2)) || usage
            check_id "${args[1]}"
            ensure_built
            stop_node "${args[1]}"
            start_node "${args[1]}"
            ;;
        logs) ((${#args[@]} == 2)) || usage; check_id "${args[1]}"; cmd_logs "${args[1]}" "$follow" "$lines" ;;
        *) usage ;;
    esac
}

main "$@"
