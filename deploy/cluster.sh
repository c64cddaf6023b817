#!/usr/bin/env bash
# Runs a Tributary cluster on loopback for development: up [N] | down | status | kill ID | start ID.
# See deploy/README.md. Processes are found and signalled only through their pid files, never by name.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_ROOT="${TRIBUTARY_DATA_DIR:-$REPO_ROOT/data}"
BASE_PORT="${TRIBUTARY_PORT:-9092}"
JAVA_BIN="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVA_HEAP="${TRIBUTARY_HEAP:--Xmx512m}"
START_DEADLINE_S=90
STOP_DEADLINE_S=30
DEFAULT_NODES=3
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
usage: $(basename "$0") [--port P] COMMAND
  up [N]     write config for nodes 1..N (N = 1..9, default ${DEFAULT_NODES}; voters are nodes 1-3, or node 1 when
             N = 2; N = 1 is a standalone node), start them together, wait up to ${START_DEADLINE_S}s for every client
             port and an active controller, print bootstrap.servers
  down       SIGTERM every node, wait up to ${STOP_DEADLINE_S}s, then SIGKILL
  status     id, pid, alive/dead, role and ports (client, Ratis, replication) of every node; with kcat on PATH
             also the active controller and every partition's leader, replicas and ISR
  kill ID    SIGKILL node ID (its data stays)
  start ID   start node ID again on its existing config and data
env: TRIBUTARY_DATA_DIR (default ./data), TRIBUTARY_PORT (default 9092; node i listens on PORT+i-1 for clients,
     on PORT+${REPLICATION_OFFSET}+i-1 for replication and, if a voter, on PORT+${RATIS_OFFSET}+i-1 for Ratis),
     TRIBUTARY_HEAP (default -Xmx512m)
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

write_config() {
    local id="$1" port="$2" voters="$3" dir
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
default.replication.factor=1
auto.create.topics.enable=true
EOF
    if [[ -n "$voters" ]]; then
        echo "controller.quorum.voters=$voters" >>"$dir/node.properties"
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
    setsid nohup "$JAVA_BIN" $JAVA_HEAP -cp "$jar:$LIB_DIR/*" "$MAIN_CLASS" "$dir/node.properties" \
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
        fi
        rm -f "$(pid_file "$id")"
        echo "node $id stopped (pid $pid)"
    done
}

kill_node() {
    local id="$1" pid
    pid="$(live_pid "$id")" || die "node $id is not running"
    kill -KILL "$pid"
    rm -f "$(pid_file "$id")"
    echo "node $id killed (pid $pid)"
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
    (IFS=,; timeout 15 kcat -b "${servers[*]}" -L -m 5 2>/dev/null)
}

# Waits until kcat -L names a controller and lists $1 brokers, until $2 (a value of $SECONDS) at the latest.
await_controller() {
    local count="$1" deadline="$2" listing=""
    while :; do
        listing="$(kcat_listing || true)"
        if grep -q '(controller)' <<<"$listing" && grep -Eq "^ *$count brokers:" <<<"$listing"; then
            echo "active controller: $(grep '(controller)' <<<"$listing" | sed 's/^ *//')" >&2
            return 0
        fi
        if ((SECONDS >= deadline)); then
            echo "no active controller with $count live brokers within ${START_DEADLINE_S}s; last kcat -L:" >&2
            echo "${listing:-(no answer)}" >&2
            return 1
        fi
        sleep 0.5
    done
}

cmd_up() {
    local count="$1" id voters deadline failed=0 servers=()
    [[ "$count" =~ ^[1-9]$ ]] || usage
    [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || die "port must be a number: $BASE_PORT"
    ensure_built
    voters="$(voters_for "$count")"
    for ((id = 1; id <= count; id++)); do
        if live_pid "$id" >/dev/null; then
            echo "node $id already running; keeping its config" >&2
        else
            write_config "$id" $((BASE_PORT + id - 1)) "$voters"
        fi
    done
    # Start every node before waiting for any: no voter finishes starting until a quorum of voters runs.
    for ((id = 1; id <= count; id++)); do spawn_node "$id"; done
    deadline=$((SECONDS + START_DEADLINE_S))
    for ((id = 1; id <= count; id++)); do
        await_node "$id" "$deadline" || failed=1
    done
    ((failed == 0)) || exit 1
    if have_kcat; then
        await_controller "$count" "$deadline" || exit 1
    else
        echo "kcat is not on PATH: checked that every client port listens, not that a controller is active" >&2
    fi
    for ((id = 1; id <= count; id++)); do servers+=("127.0.0.1:$(node_port "$id")"); done
    (IFS=,; echo "bootstrap.servers=${servers[*]}")
}

cmd_down() {
    local ids
    mapfile -t ids < <(node_ids)
    stop_nodes ${ids[@]+"${ids[@]}"}
}

cmd_status() {
    local id pid state role ratis_port listing
    printf '%-4s %-8s %-6s %-7s %-6s %-6s %s\n' ID PID STATE ROLE PORT RATIS REPL
    for id in $(node_ids); do
        if pid="$(live_pid "$id")"; then
            state=alive
        else
            state=dead
            pid="$(cat "$(pid_file "$id")" 2>/dev/null || echo -)"
        fi
        ratis_port="$(node_ratis_port "$id")"
        role=broker
        if [[ "$ratis_port" != "-" ]]; then
            role=voter
        elif ! grep -q '^controller\.quorum\.voters=.' "$(node_dir "$id")/node.properties" 2>/dev/null; then
            role=single
        fi
        printf '%-4s %-8s %-6s %-7s %-6s %-6s %s\n' "$id" "$pid" "$state" "$role" "$(node_port "$id")" "$ratis_port" \
            "$(node_replication_port "$id")"
    done
    if ! have_kcat; then
        echo "(kcat is not on PATH: install it to see the active controller and the partitions)"
        return 0
    fi
    if ! listing="$(kcat_listing)"; then
        echo "(no live node answered kcat -L)"
        return 0
    fi
    echo
    # kcat -L prints '  broker 2 at 127.0.0.1:9093 (controller)', then per topic '  topic "t" with 6 partitions:'
    # followed by '    partition 0, leader 1, replicas: 1,2,3, isrs: 1,2,3'.
    awk '
        /^ +[0-9]+ brokers:/ { live = $1 }
        /^  broker .*\(controller\)/ { controller = $2 }
        /^  topic "/ {
            topic = $2; gsub(/"/, "", topic)
            if ($0 ~ /Broker:/) errors = errors sprintf("%s: %s\n", topic, $0)
        }
        /^    partition / {
            partition = $2; sub(/,/, "", partition)
            leader = $4; sub(/,/, "", leader)
            replicas = $6; sub(/,$/, "", replicas)
            isr = $8
            rows = rows sprintf("%-24s %-9s %-6s %-14s %s\n", topic, partition, leader, replicas, isr)
        }
        END {
            print "active controller: " (controller == "" ? "none" : controller) ", live brokers: " live
            if (rows != "") {
                printf "\n%-24s %-9s %-6s %-14s %s\n", "TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"
                printf "%s", rows
            }
            printf "%s", errors
        }
    ' <<<"$listing"
}

main() {
    local args=()
    while (($#)); do
        case "$1" in
            --port) [[ $# -ge 2 ]] || usage; BASE_PORT="$2"; shift 2 ;;
            --port=*) BASE_PORT="${1#--port=}"; shift ;;
            -h | --help) usage ;;
            *) args+=("$1"); shift ;;
        esac
    done
    ((${#args[@]})) || usage
    local cmd="${args[0]}"
    case "$cmd" in
        up) ((${#args[@]} <= 2)) || usage; cmd_up "${args[1]:-$DEFAULT_NODES}" ;;
        down) cmd_down ;;
        status) cmd_status ;;
        kill) ((${#args[@]} == 2)) || usage; kill_node "${args[1]}" ;;
        start) ((${#args[@]} == 2)) || usage; ensure_built; start_node "${args[1]}" ;;
        *) usage ;;
    esac
}

main "$@"
