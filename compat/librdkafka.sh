#!/usr/bin/env bash
# librdkafka's own broker test suite (quick mode) against a 3-node Tributary cluster and a 3-node Apache Kafka
# cluster on this machine, one after the other, with a per-test table for docs/compatibility.md.
#
#   compat/librdkafka.sh build             fetch librdkafka's source and build its library and test runner
#   compat/librdkafka.sh tributary         run the suite against 3 Tributary nodes (deploy/cluster.sh)
#   compat/librdkafka.sh kafka             run the suite against 3 Kafka nodes (../shared/bench/cluster.sh)
#   compat/librdkafka.sh table             print the per-test table of the last runs (markdown), re-read from
#                                          their logs
#   compat/librdkafka.sh all               build, tributary, kafka, table
#
# librdkafka's source (with its tests/) comes from npm: node-rdkafka 3.6.1 bundles librdkafka 2.12.0; the
# tarball is checked against npm's sha512. Build dependencies come from apt. Everything is kept under
# COMPAT_DIR (default ~/.cache/tributary/compat). TESTS (e.g. "0001 0002") limits the run to some tests.
# Both clusters run with the same settings (LAYOUT below). Tests that need Kafka's bin/ scripts (KAFKA_PATH) fail
# on both. The suite runs with -Q (quick), -E (no sockem), -L (broker tests only), -p1 (one test at a time, the
# machine has 2 cores) and -V 4.0.0 (broker version the tests gate features on).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMPAT_DIR=${COMPAT_DIR:-$HOME/.cache/tributary/compat}
RDK_VERSION=2.12.0
NPM_TARBALL=https://registry.npmjs.org/node-rdkafka/-/node-rdkafka-3.6.1.tgz
NPM_SHA512=sfpTbrT35429cs0RE8Yb9avGX9BiRRvpV7aweQsghKTjtrVZP3jBrKOPItWXAqHb8doyh3SkuGuUVBLgig1SRg==
SRC=$COMPAT_DIR/librdkafka-$RDK_VERSION
BROKER_VERSION=${BROKER_VERSION:-4.0.0}
TRIBUTARY_PORT=${TRIBUTARY_PORT:-29092}
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
# Both clusters get the same layout: what the shared Kafka cluster script sets, with auto-creation on (the suite
# relies on it).
LAYOUT="num.partitions=6 default.replication.factor=3 min.insync.replicas=2 auto.create.topics.enable=true"

log() { echo "librdkafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

build() {
    local missing=()
    for pkg in build-essential libssl-dev libsasl2-dev zlib1g-dev libzstd-dev liblz4-dev python3; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
    fi
    mkdir -p "$COMPAT_DIR"
    if [ ! -x "$SRC/tests/test-runner" ]; then
        if [ ! -d "$SRC" ]; then
            local tgz=$COMPAT_DIR/node-rdkafka.tgz
            curl -fsSL -o "$tgz" "$NPM_TARBALL"
            local got
            got=$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)
            [ "$got" = "$NPM_SHA512" ] || die "checksum mismatch for $NPM_TARBALL"
            local tmp
            tmp=$(mktemp -d "$COMPAT_DIR/extract.XXXXXX")
            tar xzf "$tgz" -C "$tmp" package/deps/librdkafka
            mv "$tmp/package/deps/librdkafka" "$SRC"
            rm -rf "$tmp" "$tgz"
        fi
        log "building librdkafka $RDK_VERSION and its test runner in $SRC (several minutes on 2 cores)"
        (cd "$SRC" && ./configure --disable-gssapi --disable-curl >"$COMPAT_DIR/build.log" 2>&1 \
            && nice make -j2 libs >>"$COMPAT_DIR/build.log" 2>&1 \
            && nice make -j2 -C tests build >>"$COMPAT_DIR/build.log" 2>&1) \
            || die "build failed, see $COMPAT_DIR/build.log"
    fi
    log "test runner ready: $SRC/tests/test-runner"
}

# run_suite NAME BOOTSTRAP: the suite against a running cluster, one test-runner per test (a test that times
# out aborts its runner, which would otherwise end the whole suite there); results in COMPAT_DIR/NAME/results
run_suite() {
    local name=$1 bootstrap=$2
    [ -x "$SRC/tests/test-runner" ] || die "run '$0 build' first"
    local out=$COMPAT_DIR/$name
    rm -rf "$out" && mkdir -p "$out"
    printf 'metadata.broker.list=%s\n' "$bootstrap" >"$out/test.conf"
    local ids=${TESTS:-$(ls "$SRC/tests" | grep -oE '^0[0-9]{3}' | sort -u | tr '\n' ' ')}
    log "running librdkafka's suite against $name ($bootstrap); output in $out/NNNN.log"
    for id in $ids; do
        (cd "$SRC/tests" && TESTS=$id RDKAFKA_TEST_CONF="$out/test.conf" TEST_KAFKA_VERSION=$BROKER_VERSION \
            LD_LIBRARY_PATH=../src:../src-cpp timeout 600 ./test-runner -Q -E -L -p1 -V "$BROKER_VERSION" \
            >"$out/$id.log" 2>&1) || true
    done
    results "$name"
}

# results NAME: one line per test of COMPAT_DIR/NAME/NNNN.log into COMPAT_DIR/NAME/results ("0001 PASSED", "0004
# FAILED", "0006 SKIPPED"), from the summary table's line for the test; a log without that line but with the
# test's own output is a runner that died first (FAILED); neither: not a test of this build.
results() {
    local out=$COMPAT_DIR/$1 log id state
    : >"$out/results"
    for log in "$out"/[0-9][0-9][0-9][0-9].log; do
        id=$(basename "$log" .log)
        state=$(sed 's/\x1b\[[0-9;]*m//g' "$log" \
            | grep -aoE "^\| +${id}_[A-Za-z0-9_]+ +\| +(PASSED|FAILED|SKIPPED)" | grep -oE '[A-Z]+$' | sort -u \
            | paste -sd/ -) || true
        if [ -z "$state" ]; then
            # (grep -c reads everything: with pipefail, grep -q's early exit would fail the pipeline)
            if [ "$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -ac "^\[${id}_")" -gt 0 ]; then
                state=FAILED
            else
                continue
            fi
        fi
        case "$state" in *FAILED*) state=FAILED ;; *PASSED*) state=PASSED ;; esac
        echo "$id $state" >>"$out/results"
    done
    log "$1: $(grep -c PASSED "$out/results" || true) passed, $(grep -c FAILED "$out/results" || true) failed, $(grep -c SKIPPED "$out/results" || true) skipped"
}

tributary() {
    local data=$COMPAT_DIR/tributary-data
    "$ROOT/deploy/cluster.sh" --port "$TRIBUTARY_PORT" --data-dir "$data" down >/dev/null 2>&1 || true
    "$ROOT/deploy/cluster.sh" --port "$TRIBUTARY_PORT" --data-dir "$data" wipe >/dev/null 2>&1 || true
    TRIBUTARY_NODE_CONFIG="$LAYOUT" "$ROOT/deploy/cluster.sh" --port "$TRIBUTARY_PORT" --data-dir "$data" up 3 >&2
    trap "\"$ROOT/deploy/cluster.sh\" --port $TRIBUTARY_PORT --data-dir \"$data\" down >&2" EXIT
    run_suite tributary "127.0.0.1:$TRIBUTARY_PORT,127.0.0.1:$((TRIBUTARY_PORT + 1)),127.0.0.1:$((TRIBUTARY_PORT + 2))"
    "$ROOT/deploy/cluster.sh" --port "$TRIBUTARY_PORT" --data-dir "$data" down >&2
    trap - EXIT
}

kafka() {
    [ -x "$SHARED_BENCH/cluster.sh" ] || die "no Kafka cluster script at $SHARED_BENCH/cluster.sh"
    "$SHARED_BENCH/fetch.sh" >&2
    "$SHARED_BENCH/cluster.sh" wipe >&2 || true
    EXTRA_BROKER_PROPS="$LAYOUT" "$SHARED_BENCH/cluster.sh" up >&2
    trap '"$SHARED_BENCH/cluster.sh" down >&2' EXIT
    run_suite kafka "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"
    "$SHARED_BENCH/cluster.sh" down >&2
    trap - EXIT
}

table() {
    local t=$COMPAT_DIR/tributary/results k=$COMPAT_DIR/kafka/results
    [ -f "$t" ] && [ -f "$k" ] || die "run both suites first"
    echo "| test | Kafka | Tributary |"
    echo "| --- | --- | --- |"
    join -a1 -a2 -e '-' -o 0,1.2,2.2 "$k" "$t" | while read -r id kres tres; do
        name=$id
        for f in "$SRC/tests/$id"-*.c "$SRC/tests/$id"-*.cpp; do
            [ -e "$f" ] && name=$(basename "${f%.*}") && break
        done
        echo "| $name | $kres | $tres |"
    done
    echo
    echo "Kafka: $(grep -c PASSED "$k") passed, $(grep -c FAILED "$k") failed; Tributary: $(grep -c PASSED "$t") passed, $(grep -c FAILED "$t") failed."
}

case "${1:-}" in
    build) build ;;
    tributary) tributary ;;
    kafka) kafka ;;
    table) results tributary; results kafka; table ;;
    all) build; tributary; kafka; table ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
