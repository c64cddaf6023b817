#!/usr/bin/env bash
# JMH micro-benchmarks of the leader's append path and a consumer's fetch path (bench/jmh; never run by mvn verify).
#
#   bench/jmh.sh                       # both benchmarks, with the GC profiler (allocation per operation)
#   bench/jmh.sh FetchBenchmark        # one of them; any JMH option works (-wi, -i, -f, -p logMiB=64, -prof jfr ...)
#
# Results: JMH's table on stdout, and JSON in $OUT (default /tmp/tributary-jmh-<timestamp>.json).
# records/s = ops/s x records per operation (16 for an append; printed at set-up for a fetch); allocation per
# record = gc.alloc.rate.norm / records per operation. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT="${OUT:-/tmp/tributary-jmh-$(date +%Y%m%d-%H%M%S).json}"
mvn -B -q -Pjmh -pl bench/jmh -am package -DskipTests
exec java -jar bench/jmh/target/benchmarks.jar -prof gc -rf json -rff "$OUT" "$@"
