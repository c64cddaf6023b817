#!/usr/bin/env bash
# Soak: a 3-node Tributary cluster under a steady load for DURATION seconds, sampled every INTERVAL seconds, to
# show that memory does not grow and nothing fails (issue 12). Three acks=all producers (Kafka's
# ProducerPerformance at a fixed rate) and three consumers in one group (Kafka's ConsoleConsumer) on a
# 6-partition, RF 3, min.insync.replicas=2 topic. Per sample and node: RSS (/proc), every GC_EVERY-th sample the
# heap in use right after a full collection (jcmd GC.run: what the node really keeps), heap used, request memory,
# waiters, connections, open files. At the end: the producers' and consumers' errors, fencings in the node logs,
# ERROR lines, the group's lag, and per node the first, last and highest RSS and after-GC heap with a least-squares
# slope (MiB per hour) over the second half of the run.
#
#   bench/soak.sh                     30 minutes
#   DURATION=300 bench/soak.sh        a 5-minute check
#
# Environment (defaults in brackets): DURATION [1800] INTERVAL [30] GC_EVERY [10] RATE [300] records/s per producer,
# RECORD_SIZE [512], SOAK_PORT [39092] (clients 39092-39094, Ratis +100, replication +200, metrics +300),
# TRIBUTARY_HEAP [-Xmx512m], OUT_DIR [/tmp/tributary-soak/<timestamp>] (samples.tsv, summary.txt, tool output,
# the cluster's data and node logs).
# Needs: java 17, mvn (the build, if missing), curl, kcat (cluster.sh). Everything it starts is stopped by pid.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-1800}"
INTERVAL="${INTERVAL:-30}"
GC_EVERY="${GC_EVERY:-10}"
RATE="${RATE:-300}"
RECORD_SIZE="${RECORD_SIZE:-512}"
PORT="${SOAK_PORT:-39092}"
export TRIBUTARY_HEAP="${TRIBUTARY_HEAP:--Xmx512m}"
OUT_DIR="${OUT_DIR:-/tmp/tributary-soak/$(date +%Y%m%d-%H%M%S)}"
DATA="$OUT_DIR/cluster"
BS="127.0.0.1:$PORT,127.0.0.1:$((PORT + 1)),127.0.0.1:$((PORT + 2))"
TOOLS="$REPO_ROOT/broker-node/target/kafka-tools"
TOPIC=soak
GROUP=soak
CLUSTER=("$REPO_ROOT/deploy/cluster.sh" --port "$PORT" --data-dir "$DATA")

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
mkdir -p "$OUT_DIR"

PIDS=()
UP=0
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ "$UP" == 1 ]]; then
        "${CLUSTER[@]}" down >&2 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tool() { # main class, args...: a Kafka tool on the tools classpath
    java -Xmx256m -cp "$TOOLS/*" "$@"
}

"${CLUSTER[@]}" up 3 >&2
UP=1
if [[ ! -d "$TOOLS" ]]; then # Kafka's tools, as the integration tests use them
    (cd "$REPO_ROOT" && mvn -B -q -pl broker-node dependency:copy@copy-kafka-tools) >&2
fi
tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BS" --create --topic "$TOPIC" --partitions 6 \
    --replication-factor 3 --config min.insync.replicas=2 >&2

records=$((RATE * DURATION))
for i in 1 2 3; do
    setsid java -Xmx256m -cp "$TOOLS/*" org.apache.kafka.tools.ProducerPerformance --topic "$TOPIC" \
        --num-records "$records" --record-size "$RECORD_SIZE" --throughput "$RATE" \
        --producer-props "bootstrap.servers=$BS" acks=all linger.ms=5 >"$OUT_DIR/producer-$i.log" 2>&1 &
    PIDS+=($!)
done
for i in 1 2 3; do
    setsid java -Xmx256m -cp "$TOOLS/*" org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$BS" \
        --topic "$TOPIC" --group "$GROUP" >/dev/null 2>"$OUT_DIR/consumer-$i.log" &
    PIDS+=($!)
done

node_pid() { cat "$DATA/node-$1/node.pid"; }
metric() { # port, metric name [label filter]: the sum of the samples
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk -v n="$2" -v f="${3:-}" '
        $1 == n || index($1, n "{") == 1 { if (f == "" || index($0, f) > 0) s += $NF } END { printf "%.0f", s }'
}

printf '%s\t' elapsed_s node rss_kib after_gc_heap_bytes heap_used_bytes request_memory_bytes produce_waiters \
    fetch_waiters connections >"$OUT_DIR/samples.tsv"
printf 'open_fds\n' >>"$OUT_DIR/samples.tsv"
start=$(date +%s)
sample=0
log "soak: $DURATION s, 3 producers x $RATE records/s of $RECORD_SIZE bytes, 3 consumers; samples in $OUT_DIR"
while :; do
    elapsed=$(( $(date +%s) - start ))
    for id in 1 2 3; do
        pid="$(node_pid "$id")"
        mport=$((PORT + 300 + id - 1))
        rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -1)"
        fds="$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)"
        after_gc=-
        if (( sample % GC_EVERY == 0 )); then
            # a full collection (System.gc), then the heap in use: what the node really keeps
            jcmd "$pid" GC.run >/dev/null 2>&1 && after_gc="$(metric "$mport" jvm_memory_used_bytes 'area="heap"')"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$elapsed" "$id" "$rss" "$after_gc" \
            "$(metric "$mport" jvm_memory_used_bytes 'area="heap"')" \
            "$(metric "$mport" tributary_request_memory_used_bytes)" "$(metric "$mport" tributary_produce_waiters)" \
            "$(metric "$mport" tributary_fetch_waiters)" "$(metric "$mport" tributary_connections)" "$fds" \
            >>"$OUT_DIR/samples.tsv"
    done
    sample=$((sample + 1))
    (( elapsed >= DURATION )) && break
    sleep "$INTERVAL" # the sampling period
done

lag="$(tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$BS" --describe \
    --group "$GROUP" 2>/dev/null | awk '$6 ~ /^[0-9]+$/ { s += $6 } END { print s + 0 }')"
{
    echo "soak $(date -u +%Y-%m-%dT%H:%MZ), $DURATION s, 3 producers x $RATE/s x $RECORD_SIZE B acks=all, 3 consumers"
    echo "git $(git -C "$REPO_ROOT" rev-parse --short HEAD), heap $TRIBUTARY_HEAP"
    for i in 1 2 3; do
        echo "producer $i: errors $(grep -ci 'exception\|error' "$OUT_DIR/producer-$i.log" || true);" \
            "last report: $(grep 'records sent' "$OUT_DIR/producer-$i.log" | tail -n 1)"
    done
    for i in 1 2 3; do
        echo "consumer $i: errors $(grep -ci 'exception\|error' "$OUT_DIR/consumer-$i.log" || true)"
    done
    echo "group lag at the end: $lag"
    for id in 1 2 3; do
        echo "node $id: fencings $(grep -c 'fencing brokers' "$DATA/node-$id/node.log" || true)," \
            "ERROR lines $(grep -c ' ERROR ' "$DATA/node-$id/node.log" || true)"
    done
    awk -F '\t' -v d="$DURATION" '
        function add(name, n, t, v,    k) {
            k = ++C[name, n]; T[name, n, k] = t; V[name, n, k] = v
            if (k == 1) F[name, n] = v
            L[name, n] = v
            if (v > M[name, n]) M[name, n] = v
        }
        function slope(name, n,    i, k, st, sv, stt, stv, x) { # per hour, least squares over the second half
            k = 0; st = sv = stt = stv = 0
            for (i = 1; i <= C[name, n]; i++) if (T[name, n, i] >= d / 2) {
                x = T[name, n, i] / 3600; k++; st += x; sv += V[name, n, i]; stt += x * x; stv += x * V[name, n, i]
            }
            if (k < 2 || k * stt - st * st == 0) return "n/a"
            return sprintf("%+.1f", (k * stv - st * sv) / (k * stt - st * st))
        }
        NR > 1 { add("rss", $2, $1, $3 / 1024); if ($4 != "-") add("gc", $2, $1, $4 / 1048576) }
        END {
            for (n = 1; n <= 3; n++) {
                printf "node %d: RSS MiB first %.0f last %.0f max %.0f, slope %s MiB/h;", n, F["rss", n],
                    L["rss", n], M["rss", n], slope("rss", n)
                printf " heap after a full GC MiB first %.0f last %.0f max %.0f, slope %s MiB/h\n", F["gc", n],
                    L["gc", n], M["gc", n], slope("gc", n)
            }
        }' "$OUT_DIR/samples.tsv"
} | tee "$OUT_DIR/summary.txt"
