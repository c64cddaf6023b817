#!/usr/bin/env bash
# Side-by-side benchmark: a 3-node Tributary cluster, then a 3-node Apache Kafka (KRaft) reference cluster,
# one after the other on this machine, with the same workload driven by Kafka's own ProducerPerformance and
# ConsumerPerformance (via ../shared/bench/bench.sh and BOOTSTRAP=...). Prints one table with both systems and
# the Tributary/Kafka ratio. See docs/benchmarks.md for a recorded run.
#
#   bench/run.sh                 full run (Tributary, then Kafka, then the table)
#   bench/run.sh tributary|kafka one system only (run both with the same OUT_DIR, then `report OUT_DIR`)
#   bench/run.sh report DIR      re-print the table of an earlier run
#   bench/run.sh profile         one system (PROFILE_SYSTEM [tributary] or kafka): warm-up, then a producer run,
#                                both with PROFILE_ACKS [all] (PROFILE_RECORDS [1500000]) recorded with JFR on the node
#                                leading most partitions, or (PROFILER=async) with async-profiler on all three
#                                nodes, or (PROFILER=none) not at all; prints the hottest frames and each node's
#                                CPU seconds, and those of its JIT compiler threads
#
# Environment (defaults in brackets):
#   RECORDS [1000000]       records per producer run (and read back by each consumer run); ../shared/bench's count.
#                           300k-record rows (8-13 s) end before a broker's per-request code is compiled by C2
#                           under this load (15-30 s, docs/benchmarks.md)
#   WARMUP_RECORDS [300000] unrecorded warm-up per cluster (JIT): this many records produced with acks=all and read
#                           back, then with acks=1 and read back; 0 skips it
#   CONSUME_PASSES [5]      times each written topic is read back from the start, each by a new consumer group in a
#                           new ConsumerPerformance process; the consume row is the median pass. One pass of 1M
#                           records lasts ~2.5 s, and passes of one topic on one cluster swung 300-470k rec/s
#                           (the new client JVM's CPU decides a pass on 2 cores; docs/benchmarks.md)
#   LAT_RATE [5000] LAT_RECORDS [100000]   moderate-rate acks=all latency run; LAT_RECORDS=0 skips it
#   JFR_SETTINGS [profile]  profile with PROFILER=jfr: the JFR settings (a name or a .jfc file)
#   TRIB_PORT [29092]       Tributary port base (clients 29092-29094, Ratis +100, replication +200, metrics +300);
#                           chosen not to clash with the Kafka reference cluster (19092-19094, 19192-19194) or with
#                           a developer's default Tributary cluster (9092-...)
#   TRIBUTARY_HEAP [-Xms128m -Xmx128m]  Tributary's heap; the Kafka reference brokers get Kafka's default (1 GB). A
#                           node's heap after a young collection is 16-22 MB all through this workload (GC logs in
#                           docs/benchmarks.md); -Xms1g -Xmx1g gives both the same heap flag
#   KAFKA_BENCH_DIR [<repo>/../shared/bench]   the Kafka reference scripts (fetch.sh is run if the jars are missing)
#   OUT_DIR [/tmp/tributary-bench/<timestamp>] raw tool output, summary.tsv per system, load samples, table
#   NMT [off]               summary|detail: Tributary's nodes run with -XX:NativeMemoryTracking=$NMT and each node's
#                           `jcmd VM.native_memory summary` is saved next to rss.tsv (nmt-node<i>.txt) after the run
#
# Needs: java 17, mvn (Tributary build, Kafka jar fetch), kcat (deploy/cluster.sh readiness check), curl.
# Everything it starts (both clusters, the load tools, the load sampler) is stopped by pid on exit.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KBENCH="${KAFKA_BENCH_DIR:-$REPO_ROOT/../shared/bench}"
[[ -x "$KBENCH/bench.sh" ]] || { echo "run.sh: no $KBENCH/bench.sh (set KAFKA_BENCH_DIR)" >&2; exit 1; }
KBENCH="$(cd "$KBENCH" && pwd)"

RECORDS="${RECORDS:-1000000}"
WARMUP_RECORDS="${WARMUP_RECORDS:-300000}"
CONSUME_PASSES="${CONSUME_PASSES:-5}"
LAT_RATE="${LAT_RATE:-5000}"
LAT_RECORDS="${LAT_RECORDS:-100000}"
TRIB_PORT="${TRIB_PORT:-29092}"
export TRIBUTARY_HEAP="${TRIBUTARY_HEAP:--Xms128m -Xmx128m}"
OUT_DIR="${OUT_DIR:-/tmp/tributary-bench/$(date +%Y%m%d-%H%M%S)}"
TRIB_DATA=""
TRIB_BS="127.0.0.1:$TRIB_PORT,127.0.0.1:$((TRIB_PORT + 1)),127.0.0.1:$((TRIB_PORT + 2))"
KAFKA_BS="127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# --- process bookkeeping: every child runs in its own process group (setsid), its pid kept here -------------
CHILD=""          # the load tool / cluster script currently running
SAMPLER=""        # background load-average sampler
TRIB_UP=0
KAFKA_UP=0

# Runs "$@" in a new process group and waits for it; the trap kills that group if we are interrupted.
run() {
    setsid "$@" &
    CHILD=$!
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# deploy/cluster.sh "$@" for the bench's Tributary nodes (data dir, port base, extra JVM flags, NMT), output on stderr
trib_cluster() {
    # group.initial.rebalance.delay.ms=0 as on the Kafka reference cluster (../shared/bench/cluster.sh): the
    # consume rows exclude the group join either way, so the two clusters' consumers start alike
    run env TRIBUTARY_DATA_DIR="$TRIB_DATA" TRIBUTARY_PORT="$TRIB_PORT" \
        TRIBUTARY_NODE_CONFIG="group.initial.rebalance.delay.ms=0${TRIBUTARY_NODE_CONFIG:+ $TRIBUTARY_NODE_CONFIG}" \
        TRIBUTARY_EXTRA_JVM_OPTS="${TRIBUTARY_EXTRA_JVM_OPTS:-}${NMT:+ -XX:NativeMemoryTracking=$NMT}" \
        "$REPO_ROOT/deploy/cluster.sh" "$@" >&2
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$CHILD" ]] && kill -0 "$CHILD" 2>/dev/null; then
        kill -TERM -- "-$CHILD" 2>/dev/null || true
        sleep 1
        kill -KILL -- "-$CHILD" 2>/dev/null || true
    fi
    if ((TRIB_UP)); then log "stopping Tributary cluster"; trib_cluster down || true; fi
    if ((KAFKA_UP)); then log "stopping Kafka cluster"; "$KBENCH/cluster.sh" down >&2 || true; fi
    if [[ -n "$SAMPLER" ]]; then kill -TERM "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; fi
    [[ -n "$TRIB_DATA" ]] && rm -rf "$TRIB_DATA"
    exit "$rc"
}
phase() { echo "$1" >"$OUT_DIR/phase"; }

setup() {
    mkdir -p "$OUT_DIR"
    TRIB_DATA="$(mktemp -d /tmp/tributary-bench-data.XXXXXX)"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    exec > >(tee -a "$OUT_DIR/run.log") 2>&1
    echo idle >"$OUT_DIR/phase"
    # 1-minute load average every 5 s, tagged with the current phase
    (
        while :; do
            printf '%s\t%s\t%s\n' "$(date +%H:%M:%S)" "$(cat "$OUT_DIR/phase")" "$(cut -d' ' -f1 /proc/loadavg)"
            sleep 5
        done
    ) >>"$OUT_DIR/load.tsv" &
    SAMPLER=$!
    log "output: $OUT_DIR; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench.sh wrapper: results of system $1 go to $OUT_DIR/$1/summary.tsv
bench() {
    local sys="$1" bs="$2"; shift 2
    RESULTS_DIR="$OUT_DIR/$sys" BOOTSTRAP="$bs" run "$KBENCH/bench.sh" "$@"
}

# The workload (same for both systems): warm-up, acks=all and acks=1 producer throughput on fresh
# 6-partition RF 3 min.insync.replicas=2 topics, each read back by ConsumerPerformance, then the
# moderate-rate acks=all latency run.
workload() {
    local sys="$1" bs="$2" t stamp
    stamp="$(date +%H%M%S)"
    if ((WARMUP_RECORDS > 0)); then
        # The warm-up runs every path the measured runs take (acks=all and acks=1 produce, consume), so that the
        # rows compare warmed-up brokers, as a broker in service is, rather than JIT compilation of whichever path
        # a row happens to be the first to run.
        phase "$sys-warmup"
        for acks in all 1; do
            t="warmup-acks$acks-$stamp"
            bench "$sys" "$bs" create-topic "$t"
            log "$sys: warm-up, $WARMUP_RECORDS records acks=$acks, read back (not reported)"
            RESULTS_DIR="$OUT_DIR/$sys-warmup" BOOTSTRAP="$bs" run "$KBENCH/bench.sh" produce "$t" "$acks" "$WARMUP_RECORDS" 1024 -1 >&2
            RESULTS_DIR="$OUT_DIR/$sys-warmup" BOOTSTRAP="$bs" run "$KBENCH/bench.sh" consume "$t" "$WARMUP_RECORDS" "warmup-acks$acks" >&2
            bench "$sys" "$bs" delete-topic "$t"
        done
    fi
    local cpu jit
    for acks in all 1; do
        t="bench-acks$acks-$stamp"
        bench "$sys" "$bs" create-topic "$t"
        phase "$sys-produce-acks$acks"
        cpu="$(brokers_cpu "$sys")" jit="$(brokers_jit "$sys")"
        bench "$sys" "$bs" produce "$t" "$acks" "$RECORDS" 1024 -1
        record_cpu "$sys" "produce acks=$acks" "$cpu" "$jit"
        record_leaders "$sys" "$bs" "$t" "acks=$acks"
        phase "$sys-consume-acks$acks"
        for ((pass = 1; pass <= CONSUME_PASSES; pass++)); do
            cpu="$(brokers_cpu "$sys")" jit="$(brokers_jit "$sys")"
            bench "$sys" "$bs" consume "$t" "$RECORDS" "written-acks$acks"
            record_cpu "$sys" "consume acks=$acks #$pass" "$cpu" "$jit"
        done
        bench "$sys" "$bs" delete-topic "$t"
        phase "$sys-pause"
        sleep 5
    done
    if ((LAT_RECORDS > 0)); then
        t="lat-$stamp"
        bench "$sys" "$bs" create-topic "$t"
        phase "$sys-latency"
        bench "$sys" "$bs" produce "$t" all "$LAT_RECORDS" 1024 "$LAT_RATE"
        bench "$sys" "$bs" delete-topic "$t"
    fi
    record_rss "$sys"
    phase idle
}

# The pids of system $1's three brokers
broker_pids() {
    if [[ "$1" == tributary ]]; then
        cat "$TRIB_DATA"/node-{1,2,3}/node.pid 2>/dev/null
    else
        "$KBENCH/cluster.sh" rss 2>/dev/null | awk '{ print $4 }'
    fi
}

# Per-pid function $1 (cpu_seconds or jit_seconds) summed over system $2's brokers
brokers_sum() {
    local p total=0
    for p in $(broker_pids "$2"); do total="$(echo "$total + $("$1" "$p")" | bc)"; done
    echo "$total"
}

# CPU seconds (user + system) system $1's brokers have used so far, summed
brokers_cpu() { brokers_sum cpu_seconds "$1"; }

# CPU seconds system $1's brokers' JIT compiler threads have used so far, summed
brokers_jit() { brokers_sum jit_seconds "$1"; }

# Appends "label <TAB> broker CPU seconds since $3 <TAB> of which JIT compiler threads since $4" to
# $OUT_DIR/$1/cpu.tsv
record_cpu() {
    mkdir -p "$OUT_DIR/$1"
    printf '%s\t%s\t%s\n' "$2" "$(echo "$(brokers_cpu "$1") - $3" | bc)" "$(echo "$(brokers_jit "$1") - $4" | bc)" \
        >>"$OUT_DIR/$1/cpu.tsv"
}

# Appends "label <TAB> partitions led by each broker" (e.g. "1:2 2:2 3:2") of topic $3 to $OUT_DIR/$1/leaders.tsv:
# a consumer fetches from the leaders, so how many brokers serve the consume row depends on it.
record_leaders() {
    local counts
    mkdir -p "$OUT_DIR/$1"
    counts="$(BOOTSTRAP="$2" bash -c 'source "$1/common.sh"; kafka_tool org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "$BOOTSTRAP" --describe --topic "$2"' _ "$KBENCH" "$3" 2>/dev/null \
        | awk '{ for (i = 1; i < NF; i++) if ($i == "Leader:") n[$(i + 1)]++ }
               END { for (b in n) printf "%s:%d ", b, n[b] }')" || true
    printf '%s\t%s\n' "$4" "${counts% }" >>"$OUT_DIR/$1/leaders.tsv"
}

# Resident memory of every broker after the workload, before the cluster stops: $OUT_DIR/$1/rss.tsv
# (node, pid, VmRSS in kB), read from /proc by each node's pid.
record_rss() {
    local sys="$1" f="$OUT_DIR/$1/rss.tsv" n p
    mkdir -p "$OUT_DIR/$sys"
    : >"$f"
    if [[ "$sys" == tributary ]]; then
        for n in 1 2 3; do
            p="$(cat "$TRIB_DATA/node-$n/node.pid" 2>/dev/null)" || continue
            printf '%s\t%s\t%s\n' "$n" "$p" "$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)" >>"$f"
            [[ -z "${NMT:-}" ]] || jcmd "$p" VM.native_memory summary >"$OUT_DIR/$sys/nmt-node$n.txt" 2>&1 || true
        done
    else
        "$KBENCH/cluster.sh" rss 2>/dev/null | awk '{ printf "%s\t%s\t%s\n", $2, $4, $6 }' >>"$f"
    fi
    log "$sys: broker RSS (kB) $(cut -f3 "$f" | paste -sd' ')"
}

run_tributary() {
    ensure_kafka_jars
    log "Tributary: 3 nodes, port base $TRIB_PORT, data $TRIB_DATA, heap '$TRIBUTARY_HEAP'"
    phase tributary-start
    TRIB_UP=1
    trib_cluster up 3
    git -C "$REPO_ROOT" rev-parse --short HEAD >"$OUT_DIR/tributary-commit" 2>/dev/null || true
    workload tributary "$TRIB_BS"
    log "Tributary: stopping"
    phase tributary-stop
    trib_cluster down
    TRIB_UP=0
}

# Kafka's jars (the load tools both phases run, and the reference brokers): fetched once, before the first phase
# that needs them, so that a fresh machine gets them before the Tributary phase too.
ensure_kafka_jars() {
    # shellcheck source=/dev/null
    if ! (. "$KBENCH/common.sh" && [[ -d "$BROKER_LIBS" && -d "$(tools_libs)" ]]); then
        log "Kafka jars missing: running $KBENCH/fetch.sh"
        run "$KBENCH/fetch.sh" >&2
    fi
}

run_kafka() {
    ensure_kafka_jars
    log "Apache Kafka: 3 nodes (../shared/bench/cluster.sh), clients $KAFKA_BS"
    phase kafka-start
    KAFKA_UP=1
    run "$KBENCH/cluster.sh" up >&2
    workload kafka "$KAFKA_BS"
    log "Kafka: stopping"
    phase kafka-stop
    run "$KBENCH/cluster.sh" down >&2
    KAFKA_UP=0
}

# Table from $OUT_DIR/{tributary,kafka}/summary.tsv (columns: time kind topic acks params records_per_s
# MB_per_s avg_ms p50_ms p99_ms p999_ms max_ms extra).
report() {
    awk -F'\t' -v records="$RECORDS" -v warm="$WARMUP_RECORDS" -v lrate="$LAT_RATE" -v lrec="$LAT_RECORDS" '
        FNR == 1 { sys = (FILENAME ~ /\/kafka\/summary.tsv$/) ? "K" : "T"; next }
        {
            if ($2 == "produce" && $3 ~ /^lat-/) key = "latency acks=all @" lrate "/s"
            else if ($2 == "produce") key = "produce acks=" $4
            else if ($2 == "consume") key = "consume (" $4 ")"
            else next
            if (!(key in seen)) { seen[key] = 1; order[++n] = key }
            # a row run more than once (the consume passes) keeps every run; the table shows the median one
            c = ++cnt[sys, key]; rsv[sys, key, c] = $6; mbv[sys, key, c] = $7
            p50[sys, key] = $9; p99[sys, key] = $10; p999[sys, key] = $11
        }
        # the median run of row k (the lower middle one of an even count): sets rs[] and mb[], lists the passes
        function pick(s, k,    m, i, j, t, idx, list) {
            m = cnt[s, k]
            if (!m) return
            for (i = 1; i <= m; i++) idx[i] = i
            for (i = 2; i <= m; i++) for (j = i; j > 1 && rsv[s, k, idx[j]] + 0 < rsv[s, k, idx[j - 1]] + 0; j--) {
                t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t
            }
            rs[s, k] = rsv[s, k, idx[int((m + 1) / 2)]]; mb[s, k] = mbv[s, k, idx[int((m + 1) / 2)]]
            if (m > 1) {
                for (i = 1; i <= m; i++) list = list (i > 1 ? " " : "") sprintf("%.0f", rsv[s, k, i])
                passes[k] = passes[k] sprintf("  %s %s", s == "T" ? "Tributary" : "Kafka", list)
            }
        }
        function v(x) { return (x == "" || x == "-") ? "-" : x }
        function r0(x) { return (x == "" || x == "-") ? "-" : sprintf("%.0f", x) }
        function r1(x) { return (x == "" || x == "-") ? "-" : sprintf("%.1f", x) }
        function ratio(a, b) { return (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.2fx", a / b) }
        END {
            printf "records per producer/consumer run: %d x 1024 B; warm-up %d records acks=all and %d acks=1 per cluster, each read back (unreported); latency run %d records at %d rec/s\n", records, warm, warm, lrec, lrate
            printf "%-26s | %-58s | %-58s | %s\n", "", "Tributary", "Apache Kafka", "Tributary/Kafka"
            printf "%-26s | %10s %8s %8s %8s %8s | %10s %8s %8s %8s %8s | %8s %8s %8s\n", "benchmark", \
                "rec/s", "MB/s", "p50 ms", "p99 ms", "p99.9", "rec/s", "MB/s", "p50 ms", "p99 ms", "p99.9", "rec/s", "p50", "p99"
            for (i = 1; i <= n; i++) { pick("T", order[i]); pick("K", order[i]) }
            for (i = 1; i <= n; i++) {
                k = order[i]
                printf "%-26s | %10s %8s %8s %8s %8s | %10s %8s %8s %8s %8s | %8s %8s %8s\n", k, \
                    r0(rs["T", k]), r1(mb["T", k]), v(p50["T", k]), v(p99["T", k]), v(p999["T", k]), \
                    r0(rs["K", k]), r1(mb["K", k]), v(p50["K", k]), v(p99["K", k]), v(p999["K", k]), \
                    ratio(rs["T", k], rs["K", k]), ratio(p50["T", k], p50["K", k]), ratio(p99["T", k], p99["K", k])
            }
            print "consume rows: ConsumerPerformance fetch rec/s and MB/s (group join excluded), the median of the passes; no latency."
            for (i = 1; i <= n; i++) if (order[i] in passes) printf "  %s, each pass in rec/s:%s\n", order[i], passes[order[i]]
            print "ratios: rec/s > 1 means Tributary is faster; p50/p99 < 1 means Tributary has lower latency."
        }' "$OUT_DIR"/tributary/summary.tsv "$OUT_DIR"/kafka/summary.tsv 2>/dev/null || true
    echo
    awk -F'\t' '
        FNR == 1 { sys = (FILENAME ~ /\/kafka\/rss.tsv$/) ? "K" : "T" }
        { sum[sys] += $3; n[sys]++ }
        END {
            if (n["T"] && n["K"]) printf "broker RSS after the workload: Tributary mean %.0f MB (%d nodes), Kafka mean %.0f MB (%d nodes): %.2fx\n", sum["T"] / n["T"] / 1024, n["T"], sum["K"] / n["K"] / 1024, n["K"], (sum["T"] / n["T"]) / (sum["K"] / n["K"])
        }' "$OUT_DIR"/tributary/rss.tsv "$OUT_DIR"/kafka/rss.tsv 2>/dev/null || true
    awk -F'\t' '
        FNR == 1 { sys = (FILENAME ~ /\/kafka\/cpu.tsv$/) ? "K" : "T" }
        { v[sys, $1] = $2; j[sys, $1] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
        END {
            if (n) print "broker CPU seconds (3 brokers, user + system; in brackets their JIT compiler threads) per run:"
            for (i = 1; i <= n; i++) { k = order[i]
                printf "  %-20s Tributary %7s (%5s)  Kafka %7s (%5s)  %s\n", k, v["T", k], j["T", k], v["K", k], j["K", k], \
                    (v["T", k] != "" && v["K", k] + 0 > 0) ? sprintf("%.2fx", v["T", k] / v["K", k]) : "" }
        }' "$OUT_DIR"/tributary/cpu.tsv "$OUT_DIR"/kafka/cpu.tsv 2>/dev/null || true
    awk -F'\t' '
        FNR == 1 { sys = (FILENAME ~ /\/kafka\/leaders.tsv$/) ? "Kafka" : "Tributary" }
        { line[$1] = line[$1] sprintf("  %s %s", sys, $2); if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
        END {
            if (n) print "partition leaders per broker (broker:partitions) of the topic each consume row reads:"
            for (i = 1; i <= n; i++) printf "  %-20s%s\n", "written " order[i], line[order[i]]
        }' "$OUT_DIR"/tributary/leaders.tsv "$OUT_DIR"/kafka/leaders.tsv 2>/dev/null || true
    echo "machine load (1-min load average, sampled every 5 s; $(nproc) cores):"
    awk -F'\t' '{ s[$2] += $3; c[$2]++; if ($3 > m[$2]) m[$2] = $3; if (!($2 in o)) { o[$2] = ++n; name[n] = $2 } }
        END { for (i = 1; i <= n; i++) { p = name[i]; printf "  %-26s mean %5.2f  max %5.2f  (%d samples)\n", p, s[p] / c[p], m[p], c[p] } }' \
        "$OUT_DIR/load.tsv"
    echo "raw output: $OUT_DIR"
}

# CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null \
        || echo 0
}

# CPU seconds (user + system) the JIT compiler threads (C1, C2) of process $1 have used so far
jit_seconds() {
    local t total=0
    for t in /proc/"$1"/task/*; do
        if grep -q '^C[12] Compiler' "$t/comm" 2>/dev/null; then
            total="$(echo "$total + $(cpu_seconds "${t#/proc/}")" | bc)"
        fi
    done
    echo "$total"
}

# Context switches (voluntary and not) of all of process $1's threads so far
context_switches() {
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

# async-profiler's agent from Maven Central (tools.profiler:async-profiler, linux-x64), unpacked under $OUT_DIR
async_profiler_lib() {
    local v="${ASYNC_PROFILER_VERSION:-4.2}" dir="$OUT_DIR/async-profiler"
    if [[ ! -f "$dir/linux-x64/libasyncProfiler.so" ]]; then
        mkdir -p "$dir"
        mvn -q dependency:copy -Dartifact="tools.profiler:async-profiler:$v:jar:linux-x64" -DoutputDirectory="$dir" >&2
        (cd "$dir" && unzip -q -o "async-profiler-$v-linux-x64.jar" 'linux-x64/*')
    fi
    echo "$dir/linux-x64/libasyncProfiler.so"
}

# profile: warm-up, then a producer run, both with PROFILE_ACKS (default all), on Tributary (PROFILE_SYSTEM=tributary,
# the default) or on the Kafka reference cluster (PROFILE_SYSTEM=kafka), profiled with JFR on the node leading most
# partitions (PROFILER=jfr, the default) or with async-profiler on all three nodes (PROFILER=async: CPU samples with
# native and kernel frames, collapsed stacks per node); both print the CPU seconds each node used.
profile() {
    ensure_kafka_jars
    local secs="${JFR_SECONDS:-30}" acks="${PROFILE_ACKS:-all}" profiler="${PROFILER:-jfr}" t leader pid jfr n lib
    local records="${PROFILE_RECORDS:-1500000}" sys="${PROFILE_SYSTEM:-tributary}" bs
    log "profile: $sys, warm-up, then $profiler during a $records-record acks=$acks producer run"
    if [[ "$sys" == kafka ]]; then
        KAFKA_UP=1
        run "$KBENCH/cluster.sh" up >&2
        bs="$KAFKA_BS"
    else
        TRIB_UP=1
        trib_cluster up 3
        bs="$TRIB_BS"
    fi
    t="prof-$(date +%H%M%S)"
    bench "$sys" "$bs" create-topic "$t"
    RESULTS_DIR="$OUT_DIR/$sys-warmup" BOOTSTRAP="$bs" run "$KBENCH/bench.sh" produce "$t" "$acks" "$WARMUP_RECORDS" 1024 -1 >&2
    leader="$(timeout 15 kcat -b "$bs" -L -t "$t" 2>/dev/null | awk '/partition/ { sub(/,/, "", $4); c[$4]++ }
        END { for (l in c) if (c[l] > best) { best = c[l]; id = l } print id }')"
    declare -A pids cpu0 jit0 cs0
    n=0
    for pid in $(broker_pids "$sys"); do
        n=$((n + 1))
        pids[$n]="$pid"
        cpu0[$n]="$(cpu_seconds "$pid")"
        jit0[$n]="$(jit_seconds "$pid")"
        cs0[$n]="$(context_switches "$pid")"
    done
    local starter=""
    # (jcmd passes an agent's options through only as one quoted word)
    if [[ "$profiler" == async ]]; then
        lib="$(async_profiler_lib)"
        for n in 1 2 3; do
            jcmd "${pids[$n]}" JVMTI.agent_load "$lib" "\"start,event=cpu,interval=1ms,threads\"" >&2
        done
    elif [[ "$profiler" == jfr ]]; then
        pid="${pids[$leader]}"
        jfr="$OUT_DIR/leader-node$leader.jfr"
        log "profile: leader node $leader (pid $pid) -> $jfr"
        (sleep 5; jcmd "$pid" JFR.start name=bench settings="${JFR_SETTINGS:-profile}" duration="${secs}s" filename="$jfr" >&2) &
        starter=$!
    fi
    local began=$SECONDS
    bench "$sys" "$bs" produce "$t" "$acks" "$records" 1024 -1 || true
    local took=$((SECONDS - began))
    for n in 1 2 3; do
        if [[ "$sys" == kafka ]]; then
            # shellcheck source=/dev/null
            cp "$(. "$KBENCH/common.sh" && echo "$CLUSTER_DIR")/node$n/logs/stdout.log" "$OUT_DIR/node$n.log" 2>/dev/null || true
        else
            cp "$TRIB_DATA/node-$n/node.log" "$OUT_DIR/node$n.log" 2>/dev/null || true
        fi
    done
    echo "== RSS per node after the run (MB): $(for n in 1 2 3; do awk '/^VmRSS/ { printf "%d ", $2 / 1024 }' \
        "/proc/${pids[$n]}/status"; done)"
    echo "== CPU seconds per node during the $records-record run (${took}s; node $leader leads the most partitions) =="
    for n in 1 2 3; do
        printf 'node %s: %.1f s, of which JIT compilers %.1f s; %d context switches\n' "$n" \
            "$(echo "$(cpu_seconds "${pids[$n]}") - ${cpu0[$n]}" | bc)" \
            "$(echo "$(jit_seconds "${pids[$n]}") - ${jit0[$n]}" | bc)" \
            "$(($(context_switches "${pids[$n]}") - ${cs0[$n]}))"
    done
    if [[ "$profiler" == async ]]; then
        for n in 1 2 3; do
            jcmd "${pids[$n]}" JVMTI.agent_load "$lib" "\"stop,file=$OUT_DIR/node$n.collapsed,collapsed,threads\"" >&2
        done
        echo "== self frames, all nodes (async-profiler CPU samples; collapsed stacks in $OUT_DIR/node*.collapsed) =="
        cat "$OUT_DIR"/node*.collapsed | awk '{ n = $NF; $NF = ""; k = split($0, f, ";"); s = f[k]; sub(/ $/, "", s)
            c[s] += n; t += n } END { for (s in c) printf "%6d %5.1f%% %s\n", c[s], 100 * c[s] / t, s }' \
            | sort -rn | head -40
        echo "== by thread, all nodes =="
        cat "$OUT_DIR"/node*.collapsed | awk '{ n = $NF; split($0, f, ";"); th = f[1]; gsub(/-?[0-9]+/, "N", th)
            c[th] += n; t += n } END { for (s in c) printf "%6d %5.1f%% %s\n", c[s], 100 * c[s] / t, s }' \
            | sort -rn | head -25
        return
    fi
    [[ "$profiler" == jfr ]] || return 0
    wait "$starter" || true
    for _ in $(seq 1 60); do [[ -s "$jfr" ]] && break; sleep 1; done
    sleep 2
    echo "== top frames (top of stack) in jdk.ExecutionSample, node $leader =="
    jfr print --events jdk.ExecutionSample "$jfr" | awk '/stackTrace = \[/ { getline; sub(/^ +/, ""); print }' \
        | sed -E 's/ +line:.*//' | sort | uniq -c | sort -rn | head -30
    echo "== all frames (inclusive) =="
    jfr print --events jdk.ExecutionSample "$jfr" | grep -E '^\s+[a-zA-Z].*line:' | sed -E 's/^ +//; s/ +line:.*//' \
        | sort | uniq -c | sort -rn | head -40
}

case "${1:-all}" in
    all) setup; run_tributary; run_kafka; report | tee "$OUT_DIR/table.txt" ;;
    tributary) setup; run_tributary; report | tee "$OUT_DIR/table.txt" ;;
    kafka) setup; run_kafka; report | tee "$OUT_DIR/table.txt" ;;
    profile) setup; profile ;;
    report) OUT_DIR="${2:?usage: run.sh report OUT_DIR}"; report ;;
    *) sed -n '2,29p' "$0"; exit 2 ;;
esac
