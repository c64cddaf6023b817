#!/usr/bin/env bash
# Transactional workload under the shared fault-injection harness (../shared/reliability, not ours: only used).
#
#   reliability/txn-run.sh DURATION_S NEMESIS      NEMESIS = kill | pause | partition | mixed | none
#
# Run from the project root as root. SYSTEM=tributary (default: a clean clone of this checkout's HEAD, so commit
# first) or SYSTEM=kafka; SEED=n reproduces the fault schedule. Brings the cluster up like the shared run.sh,
# creates topic txn (6 partitions, RF 3, min.insync.replicas=2), runs transactional producers and read_committed
# consumers (reliability/txn/src) for DURATION_S under the nemesis schedule, heals, waits for LSO == HW, reads
# everything back read_committed and read_uncommitted, checks. Prints a table and a one-line JSON summary last.
# Exit status: 0 no anomaly, 1 anomaly, 2 final read incomplete, 3 harness error, 130 interrupted.
# Tunables (env): see reliability/README.md. Artifacts: $RELI_HOME/runs/<date>-txn-<system>-<nemesis>/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
SHARED="${RELI_SHARED:-$(cd "$HERE/../../shared/reliability" 2>/dev/null && pwd)}"
# shellcheck source=/dev/null
. "$SHARED/lib/common.sh"

usage() { sed -n '2,13p' "$0"; exit 3; }
die() { echo "ERROR: $*" >&2; exit 3; }
[ $# -eq 2 ] || usage
DURATION_S="$1"; NEMESIS="$2"; SYSTEM="${SYSTEM:-tributary}"
case "$NEMESIS" in kill|pause|partition|mixed|none) ;; *) usage ;; esac
[[ "$DURATION_S" =~ ^[0-9]+$ ]] && [ "$DURATION_S" -ge 10 ] || die "DURATION_S must be an integer >= 10"
ADAPTER="$SHARED/systems/$SYSTEM.sh"
[ -x "$ADAPTER" ] || die "no adapter $ADAPTER"
[ "$(id -u)" = 0 ] || die "run as root (network namespaces, iptables)"
export SYSTEM NEMESIS DURATION_S
export SEED="${SEED:-$(date +%s)}"
export TRIBUTARY_SRC="${TRIBUTARY_SRC:-$(cd "$HERE/.." && pwd)}"
export TXN_TOPIC="${TXN_TOPIC:-txn}"

mkdir -p "$RELI_HOME/runs"
exec 9>"$RELI_HOME/run.lock"                  # the shared lock: one harness run at a time on this machine
flock -n 9 || die "another run holds $RELI_HOME/run.lock"
RUN_ID="$(date +%Y%m%d-%H%M%S)-txn-$SYSTEM-$NEMESIS"
export RUN_DIR="$RELI_HOME/runs/$RUN_ID"
mkdir -p "$RUN_DIR"
exec > >(trap '' INT; exec tee -a "$RUN_DIR/run.log") 2>&1
TEE_PID=$!

WORKLOAD_PID="" NEMESIS_PID="" CLEANED=0 STARTED_NET=0
cleanup() {
  [ "$CLEANED" = 1 ] && return 0
  CLEANED=1
  set +e
  trap '' PIPE
  if [ -n "$NEMESIS_PID" ] && kill -0 "$NEMESIS_PID" 2>/dev/null; then kill -TERM "$NEMESIS_PID"; wait "$NEMESIS_PID"; fi
  if [ -n "$WORKLOAD_PID" ] && kill -0 "$WORKLOAD_PID" 2>/dev/null; then kill -TERM "$WORKLOAD_PID"; wait "$WORKLOAD_PID"; fi
  if [ "${KEEP_RUNNING:-0}" = 1 ]; then log "KEEP_RUNNING=1: cluster and network left up; $SHARED/cleanup.sh $SYSTEM removes them"; return 0; fi
  [ "$STARTED_NET" = 1 ] || return 0
  log "cleanup: stopping nodes, removing the test network"
  "$SHARED/lib/net.sh" heal
  local n pids=()
  for n in $(seq 1 "$NODES"); do "$ADAPTER" stop "$n" & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n"; done
  "$SHARED/lib/net.sh" down
}
finish() {
  local rc=$?
  cleanup
  exec >&- 2>&-
  wait "$TEE_PID" 2>/dev/null
  exit "$rc"
}
trap finish EXIT
trap 'log "interrupted"; exit 130' INT TERM

# the shared workload's Main for wait-healthy / create-topics, pointed at our topic only
wl() { TOPIC="$TXN_TOPIC" ACKS1_PRODUCERS=0 "$SHARED/lib/workload.sh" java "$@"; }
TXN_CLASSES="$RELI_HOME/txn-classes"
# shellcheck disable=SC2206
TWL=("$JAVA" ${CLIENT_HEAP:--Xmx512m} -Dreliability.client.log="$RUN_DIR/client.log"
     -Dlog4j2.configurationFile="$CLIENT_LIBS/log4j2-client.properties" -cp "$TXN_CLASSES:$CLIENT_LIBS/*" reliability.txn.Main)

log "run $RUN_ID: txn workload, system=$SYSTEM nemesis=$NEMESIS duration=${DURATION_S}s seed=$SEED dir=$RUN_DIR"
loadavg() { log "load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores - $1"; }
loadavg "before setup"
"$SHARED/lib/workload.sh" setup                # kafka-clients jars (+ the shared workload, used above)
rm -rf "$TXN_CLASSES"; mkdir -p "$TXN_CLASSES"
javac -nowarn -Xlint:none -d "$TXN_CLASSES" -cp "$CLIENT_LIBS/*" $(find "$HERE/txn/src" -name '*.java') || die "javac failed"
"$ADAPTER" setup
export SYSTEM_VERSION="$("$ADAPTER" version 2>/dev/null || echo "$SYSTEM")"

STARTED_NET=1
"$SHARED/lib/net.sh" up
"$ADAPTER" wipe
for n in $(seq 1 "$NODES"); do "$ADAPTER" start "$n" "$(node_ip "$n")"; done
export BOOTSTRAP="$("$ADAPTER" bootstrap)"
log "bootstrap $BOOTSTRAP"
wl wait-healthy "$NODES" 180 || die "cluster did not come up"
wl create-topics
wl wait-healthy "$NODES" 60 full-isr || die "topic not healthy"

"${TWL[@]}" run &
WORKLOAD_PID=$!
for i in $(seq 1 2400); do               # producers warm up (initTransactions) first
  [ -f "$RUN_DIR/started" ] && break
  kill -0 "$WORKLOAD_PID" 2>/dev/null || die "workload exited early"
  sleep 0.1
done
[ -f "$RUN_DIR/started" ] || die "workload did not start"

"$SHARED/lib/nemesis.sh" schedule "$NEMESIS" "$DURATION_S" &
NEMESIS_PID=$!
wait "$NEMESIS_PID" || log "WARN: nemesis schedule exited with $?"
NEMESIS_PID=""
"$SHARED/lib/nemesis.sh" heal
wait "$WORKLOAD_PID" || die "workload failed"
WORKLOAD_PID=""

loadavg "at the end of the workload"
log "healed; waiting for a full ISR, then for LSO == HW and the final reads"
wl wait-healthy "$NODES" 180 full-isr || log "WARN: cluster not fully healthy; checking anyway"
set +e
"${TWL[@]}" check > "$RUN_DIR/check.out" 2>&1
RC=$?
set -e
grep -E '^(final read|stable|NOT stable|HANGING)' "$RUN_DIR/check.out" >&2 || true

cleanup
echo
cat "$RUN_DIR/summary.txt" 2>/dev/null || { cat "$RUN_DIR/check.out"; RC=3; }   # the checker itself failed
exit "$RC"
