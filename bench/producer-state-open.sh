#!/usr/bin/env bash
# Restart cost of producer state (issue 12): writes ~1 GiB of idempotent batches to one PartitionLog in a temporary
# directory, then times PartitionLog.open with its producer snapshots (a clean restart reads no batch header) and
# with the .snapshot files deleted (every batch header of every segment is read to rebuild the producer state).
# Each open runs in a fresh JVM (OpenTimeBenchmark in replication's test classes). Not part of `mvn verify`.
# See docs/benchmarks.md for a recorded run.
#
#   bench/producer-state-open.sh
#
# Environment (defaults in brackets):
#   BYTES [1073741824]   size of the log to write
#   ROUNDS [3]           opens of each kind, alternating
#   COLD [0]             1: before each open, ask the kernel to drop the log's pages from the page cache
#                        (dd iflag=nocache, per file, no root needed; best effort) so that reads hit the disk
#   HEAP [-Xmx256m]      heap of each JVM
#   DIR [mktemp -d]      where the log is written; deleted on exit
#
# Needs: java 17, mvn with the project installed offline (`mvn -o -q install -DskipTests` at the root first).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BYTES="${BYTES:-1073741824}"
ROUNDS="${ROUNDS:-3}"
COLD="${COLD:-0}"
HEAP="${HEAP:--Xmx256m}"
DIR="${DIR:-$(mktemp -d /tmp/producer-state-open.XXXXXX)}"
trap 'rm -rf "$DIR"' EXIT

cd "$REPO_ROOT"
mvn -o -q -pl storage -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$DIR/classpath.txt" >/dev/null
CP="storage/target/test-classes:storage/target/classes:$(cat "$DIR/classpath.txt")"
run() { java $HEAP -cp "$CP" io.tributary.storage.OpenTimeBenchmark "$@"; }
drop_cache() {
    if [[ "$COLD" == 1 ]]; then
        for f in "$DIR"/log/*; do dd if="$f" iflag=nocache count=0 status=none 2>/dev/null || true; done
    fi
}

echo "== writing $BYTES bytes to $DIR/log"
run write "$DIR/log" "$BYTES"
du -sh "$DIR/log"
for round in $(seq 1 "$ROUNDS"); do
    drop_cache
    echo "== round $round: open with snapshots"
    run open "$DIR/log"
    rm -f "$DIR"/log/*.snapshot
    drop_cache
    echo "== round $round: open without snapshots"
    run open "$DIR/log"
done
