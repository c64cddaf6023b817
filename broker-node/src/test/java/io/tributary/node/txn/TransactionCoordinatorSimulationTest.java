package io.tributary.node.txn;

import io.tributary.node.txn.TransactionRecord.MetadataRecord;
import io.tributary.node.txn.TransactionRecord.Tombstone;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.requests.TransactionResult;
import org.junit.jupiter.api.Test;

/**
 * A seeded simulation of one {@code __transaction_state} partition's coordinator (STYLE rule 12), in the style of
 * {@code ReplicationSimulationTest}: the real {@link TransactionCoordinator} behind a simulated driver with an
 * in-memory log, virtual time, and producers that issue random requests: well-behaved ones, zombies that keep using
 * a fenced epoch, stale retries, KIP-360 recoveries, invalid timeouts, and an id beyond the partition's bound.
 *
 * <p>Events: a producer request (its records are appended in order; the response is sent once they are durable), an
 * append completing (durable, or failed and lost), a partition leader acknowledging a transaction's markers, a tick
 * that advances time (timeouts abort, idle ids expire), the producer-id supply running dry, and a coordinator crash:
 * a prefix of the in-flight appends survives, the rest is lost, and a successor (coordinator epoch + 1) loads the
 * durable log, full or compacted.
 *
 * <p>After every event: each durable record is an allowed transition of its id (a new id or one after a tombstone
 * starts Empty); producer epochs never go back within a producer id and a new producer id starts at epoch 0 after
 * the old one; no transaction is both committed and aborted, and its Complete record matches its Prepare record;
 * markers are requested only for the durable Prepare record of an id (with the current coordinator epoch) and a
 * Complete record is only written after all its markers were; every (transactional id, producer id, epoch) is handed
 * to at most one producer instance, and a request is accepted only from the instance holding the current epoch (a
 * fenced producer's request is never accepted); errors are ones Kafka answers in that situation; no Ongoing
 * transaction outlives its timeout past a tick, no idle id its expiration; the number of ids stays bounded; the live
 * state equals the simulation's model of the durable records and what a fresh coordinator loads from them. At the
 * end, with producers stopped and faults healed, every transaction completes (no wedge).
 *
 * <p>A failing seed is printed; {@code -Dtxn.sim.seed=N} replays it alone; {@code -Dtxn.sim.seeds=N} runs N seeds
 * (default {@value #DEFAULT_SEEDS}).
 */
class TransactionCoordinatorSimulationTest {

    static final int DEFAULT_SEEDS = 12;
    private static final int STEPS = 3_000;
    private static final int MAX_TIMEOUT_MS = 20_000;
    private static final long EXPIRATION_MS = 40_000;
    private static final int MAX_IDS = 3;
    private static final int MAX_PARTITIONS = 4;
    private static final short NEAR_EXHAUSTED = Short.MAX_VALUE - 8;

    @Test
    void invariantsHoldUnderRandomProducersCrashesAndTimeouts() {
        String fixed = System.getProperty("txn.sim.seed");
        if (fixed != null) {
            new World(Long.parseLong(fixed)).run();
            return;
        }
        int seeds = Integer.getInteger("txn.sim.seeds", DEFAULT_SEEDS);
        World.Totals totals = new World.Totals();
        for (int i = 0; i < seeds; i++) {
            long seed = 0x7e14_0000L + i;
            World world = new World(seed);
            try {
                world.run();
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("transaction simulation failed with seed " + seed
                        + " (replay: -Dtxn.sim.seed=" + seed + "): " + e.getMessage() + world.history(), e);
            }
            totals.add(world.stats);
        }
        System.out.println("txn simulation: " + seeds + " seeds, " + totals);
        check(seeds < 5 || totals.fencingAborts > 0, "some transactions were aborted by fencing");
        check(seeds < 5 || totals.rotations > 0, "some producer ids rotated");
        check(seeds < 5 || totals.expirations > 0, "some ids expired");
        check(seeds < 5 || totals.crashes > 0, "the coordinator crashed");
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("invariant broken: " + what);
        }
    }

    /** One simulated coordinator partition and its producers. */
    static final class World {
        static final class Totals {
            long commits;
            long aborts;
            long fencingAborts;
            long rotations;
            long expirations;
            long crashes;
            long fencedRequests;

            void add(Totals t) {
                commits += t.commits;
                aborts += t.aborts;
                fencingAborts += t.fencingAborts;
                rotations += t.rotations;
                expirations += t.expirations;
                crashes += t.crashes;
                fencedRequests += t.fencedRequests;
            }

            @Override
            public String toString() {
                return "commits=" + commits + " aborts=" + aborts + " fencingAborts=" + fencingAborts + " rotations="
                        + rotations + " expirations=" + expirations + " crashes=" + crashes + " fencedRequests="
                        + fencedRequests;
            }
        }

        final long seed;
        final Random random;
        final Totals stats = new Totals();
        final TransactionCoordinatorConfig config = TransactionCoordinatorConfig.defaults()
                .withTransactionMaxTimeoutMs(MAX_TIMEOUT_MS).withTransactionalIdExpirationMs(EXPIRATION_MS)
                .withCleanupIntervals(0, 0).withLimits(MAX_IDS, MAX_PARTITIONS);
        long nowMs;
        long nextProducerId = 1;
        boolean idsDry;
        int coordinatorEpoch;
        TransactionCoordinator c;
        final boolean keepTombstonesInCompaction;
        final List<String> trace = new ArrayList<>();

        // The driver
        final Deque<Append> inFlight = new ArrayDeque<>();
        final List<QueuedMarkers> markerQueue = new ArrayList<>();

        // The durable log and the model of it
        final List<TransactionRecord> log = new ArrayList<>();
        final Map<String, TransactionRecord> compacted = new LinkedHashMap<>();
        final SortedMap<String, TransactionMetadata> model = new TreeMap<>();
        final Map<String, Integer> txnSeq = new HashMap<>();
        final Map<String, TransactionResult> outcome = new HashMap<>();
        final Set<String> markersDone = new HashSet<>();
        final Set<Long> usedProducerIds = new HashSet<>();
        /** "id/pid/epoch" -> the producer instance that was handed it. */
        final Map<String, String> epochOwner = new HashMap<>();

        final List<Producer> producers = new ArrayList<>();

        record Append(List<TransactionRecord> records, Consumer<Boolean> onDone, Producer producer) {
        }

        record QueuedMarkers(TransactionMarkers markers, String txnKey) {
        }

        static final class Producer {
            final String name;
            final String transactionalId;
            long producerId = RecordBatch.NO_PRODUCER_ID;
            short epoch = RecordBatch.NO_PRODUCER_EPOCH;
            boolean busy;
            long sleepUntilMs;

            Producer(String name, String transactionalId) {
                this.name = name;
                this.transactionalId = transactionalId;
            }

            void restart() {
                producerId = RecordBatch.NO_PRODUCER_ID;
                epoch = RecordBatch.NO_PRODUCER_EPOCH;
            }
        }

        World(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
            this.keepTombstonesInCompaction = random.nextBoolean();
            for (int id = 0; id < 3; id++) {
                for (int instance = 0; instance < 2; instance++) {
                    producers.add(new Producer("t" + id + "/p" + instance, "t" + id));
                }
            }
            producers.add(new Producer("t3/p0", "t3")); // a fourth id: beyond MAX_IDS while the others live
            // t2 starts close to epoch exhaustion, so rotations to a new producer id happen
            long pid = nextProducerId++;
            recordDurable(new MetadataRecord(new TransactionMetadata("t2", pid, -1, NEAR_EXHAUSTED,
                    RecordBatch.NO_PRODUCER_EPOCH, 10_000, TransactionState.EMPTY, Set.of(), -1, 0)));
            c = newCoordinator(log);
        }

        TransactionCoordinator newCoordinator(List<TransactionRecord> records) {
            TransactionCoordinator coordinator = new TransactionCoordinator(config, coordinatorEpoch,
                    () -> idsDry ? -1 : nextProducerId++);
            coordinator.load(records);
            return coordinator;
        }

        void run() {
            for (int step = 0; step < STEPS; step++) {
                int event = random.nextInt(100);
                if (event < 45) {
                    Producer p = producers.get(random.nextInt(producers.size()));
                    if (!p.busy && p.sleepUntilMs <= nowMs) {
                        act(p);
                    }
                } else if (event < 68) {
                    completeAppend(random.nextInt(100) < 90);
                } else if (event < 80) {
                    deliverMarkers();
                } else if (event < 95) {
                    tick(random.nextInt(4_000));
                } else if (event < 98) {
                    idsDry = !idsDry && random.nextInt(2) == 0;
                    note("producer ids " + (idsDry ? "dry" : "available"));
                } else {
                    crash();
                }
                checkInvariants(step % 100 == 0);
            }
            drain();
            check(stats.commits > 0 && stats.aborts > 0, "transactions committed and aborted: " + stats);
        }

        // ---- producers ----

        void act(Producer p) {
            String id = p.transactionalId;
            int r = random.nextInt(100);
            if (p.producerId < 0 || r < 6) {
                boolean expected = p.producerId >= 0 && random.nextBoolean();
                long expectedPid = expected ? p.producerId : RecordBatch.NO_PRODUCER_ID;
                short expectedEpoch = expected ? p.epoch : RecordBatch.NO_PRODUCER_EPOCH;
                if (p.producerId < 0 && random.nextInt(10) == 0) {
                    expectedPid = 10_000 + random.nextInt(5); // a migrating producer with some other id
                    expectedEpoch = (short) random.nextInt(3);
                }
                int timeoutMs = random.nextInt(50) == 0 ? (random.nextBoolean() ? 0 : MAX_TIMEOUT_MS + 1)
                        : List.of(3_000, 8_000, MAX_TIMEOUT_MS).get(random.nextInt(3));
                boolean isNew = !model.containsKey(id);
                boolean invalidTimeout = timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS;
                boolean hasExpected = expectedPid >= 0;
                TransactionDecision<InitProducerIdResult> d = c.initProducerId(id, timeoutMs, expectedPid,
                        expectedEpoch, nowMs);
                note(p.name + " init expected=" + expectedPid + "/" + expectedEpoch + " -> " + d.response().error()
                        + " " + d.records().size());
                issue(p, d, result -> onInit(p, result, isNew, invalidTimeout, hasExpected));
            } else if (r < 45 || r >= 82 && r < 88) {
                boolean stale = r >= 82;
                long pid = stale && random.nextBoolean() ? p.producerId + 1 : p.producerId;
                short epoch = stale && pid == p.producerId ? (short) (p.epoch - 1) : p.epoch;
                List<TopicPartition> partitions = new ArrayList<>();
                for (int n = 1 + random.nextInt(2); n > 0; n--) {
                    partitions.add(new TopicPartition("topic", random.nextInt(6)));
                }
                TransactionDecision<Errors> d = c.addPartitionsToTxn(id, pid, epoch, partitions, nowMs);
                note(p.name + " add " + pid + "/" + epoch + " " + partitions + " -> " + d.response());
                checkAccepted(p, pid, epoch, d.response());
                issue(p, d, e -> onClientResponse(p, e, false));
            } else if (r < 52) {
                TransactionDecision<Errors> d = c.addOffsetsToTxn(id, p.producerId, p.epoch,
                        new TopicPartition("__consumer_offsets", random.nextInt(2)), nowMs);
                note(p.name + " addOffsets -> " + d.response());
                checkAccepted(p, p.producerId, p.epoch, d.response());
                issue(p, d, e -> onClientResponse(p, e, false));
            } else if (r < 82) {
                TransactionResult result = r < 72 ? TransactionResult.COMMIT : TransactionResult.ABORT;
                TransactionDecision<Errors> d = c.endTxn(id, p.producerId, p.epoch, result, nowMs);
                note(p.name + " end " + result + " " + p.producerId + "/" + p.epoch + " -> " + d.response());
                checkAccepted(p, p.producerId, p.epoch, d.response());
                issue(p, d, e -> onClientResponse(p, e, true));
            } else if (r < 91) {
                p.sleepUntilMs = nowMs + random.nextInt(60_000); // a long pause: its id may expire
            }
        }

        <R> void issue(Producer p, TransactionDecision<R> d, Consumer<R> onResponse) {
            if (d.records().isEmpty()) {
                onResponse.accept(d.response());
                return;
            }
            p.busy = true;
            inFlight.add(new Append(d.records(), durable -> {
                p.busy = false;
                if (durable) {
                    onResponse.accept(d.response());
                }
            }, p));
        }

        /** An accepted AddPartitions/AddOffsets/EndTxn comes from the instance holding the current epoch. */
        void checkAccepted(Producer p, long pid, short epoch, Errors response) {
            TransactionMetadata current = model.get(p.transactionalId);
            if (response == Errors.PRODUCER_FENCED) {
                stats.fencedRequests++;
            }
            if (response != Errors.NONE) {
                return;
            }
            check(current != null && current.producerId() == pid && current.producerEpoch() == epoch,
                    p.name + " accepted with " + pid + "/" + epoch + " but the id holds " + current);
            check(p.name.equals(epochOwner.get(p.transactionalId + "/" + pid + "/" + epoch)),
                    p.name + " accepted with an epoch handed to " + epochOwner.get(p.transactionalId + "/" + pid
                            + "/" + epoch));
        }

        void onInit(Producer p, InitProducerIdResult result, boolean isNew, boolean invalidTimeout,
                boolean hasExpected) {
            Errors e = result.error();
            if (e == Errors.NONE) {
                check(!invalidTimeout, "an invalid timeout was accepted");
                TransactionMetadata current = model.get(p.transactionalId);
                check(current != null && current.producerId() == result.producerId()
                        && current.producerEpoch() == result.producerEpoch(), "init answered " + result
                        + " but the durable state is " + current);
                String key = p.transactionalId + "/" + result.producerId() + "/" + result.producerEpoch();
                String owner = epochOwner.putIfAbsent(key, p.name);
                check(owner == null || owner.equals(p.name), key + " handed to " + owner + " and to " + p.name);
                p.producerId = result.producerId();
                p.epoch = result.producerEpoch();
                return;
            }
            Set<Errors> allowed = EnumSet.of(Errors.CONCURRENT_TRANSACTIONS);
            if (invalidTimeout) {
                allowed.add(Errors.INVALID_TRANSACTION_TIMEOUT);
            }
            if (hasExpected) {
                allowed.add(Errors.PRODUCER_FENCED);
            }
            if (isNew) {
                allowed.add(Errors.POLICY_VIOLATION);
            }
            allowed.add(Errors.COORDINATOR_LOAD_IN_PROGRESS); // producer ids ran dry
            check(allowed.contains(e), p.name + " init got " + e);
            if (e == Errors.PRODUCER_FENCED && random.nextBoolean()) {
                p.restart();
            }
        }

        void onClientResponse(Producer p, Errors e, boolean end) {
            Set<Errors> allowed = EnumSet.of(Errors.NONE, Errors.INVALID_PRODUCER_ID_MAPPING, Errors.PRODUCER_FENCED,
                    Errors.CONCURRENT_TRANSACTIONS);
            allowed.add(end ? Errors.INVALID_TXN_STATE : Errors.POLICY_VIOLATION);
            check(allowed.contains(e), p.name + (end ? " end" : " add") + " got " + e);
            if (e == Errors.INVALID_PRODUCER_ID_MAPPING || (e == Errors.PRODUCER_FENCED && random.nextInt(4) == 0)) {
                p.restart();
            }
        }

        // ---- the driver ----

        void completeAppend(boolean durable) {
            Append a = inFlight.pollFirst();
            if (a == null) {
                return;
            }
            note("append " + (durable ? "durable " : "FAILED ") + a.records());
            if (durable) {
                for (TransactionRecord r : a.records()) {
                    recordDurable(r);
                    c.replay(r);
                }
                collectMarkers();
            } else {
                a.records().forEach(c::appendFailed);
            }
            a.onDone().accept(durable);
        }

        void deliverMarkers() {
            if (markerQueue.isEmpty()) {
                return;
            }
            QueuedMarkers q = markerQueue.remove(random.nextInt(markerQueue.size()));
            TransactionMarkers m = q.markers();
            markersDone.add(q.txnKey());
            List<TransactionRecord> records = c.markersWritten(m.transactionalId(), m.producerId(),
                    m.producerEpoch(), nowMs);
            note("markers written " + m + " -> " + records);
            check(records.size() == 1, "markers of the current Prepare record complete it: " + m);
            inFlight.add(new Append(records, durable -> {
                if (!durable) {
                    markerQueue.add(q); // the driver reports again later
                }
            }, null));
        }

        void collectMarkers() {
            for (TransactionMarkers m : c.takeMarkers()) {
                TransactionMetadata current = model.get(m.transactionalId());
                check(current != null && current.state().isPrepare(), "markers without a durable Prepare: " + m);
                TransactionResult result = current.state() == TransactionState.PREPARE_COMMIT
                        ? TransactionResult.COMMIT : TransactionResult.ABORT;
                check(current.producerId() == m.producerId() && current.producerEpoch() == m.producerEpoch()
                        && result == m.result() && List.copyOf(current.partitions()).equals(m.partitions())
                        && m.coordinatorEpoch() == coordinatorEpoch, "markers " + m + " for " + current);
                for (QueuedMarkers q : markerQueue) {
                    check(!q.markers().transactionalId().equals(m.transactionalId()), "markers requested twice " + m);
                }
                markerQueue.add(new QueuedMarkers(m, txnKey(m.transactionalId())));
            }
        }

        void tick(long advanceMs) {
            nowMs += advanceMs;
            List<TransactionRecord> records = c.onTick(nowMs);
            note("tick " + nowMs + " -> " + records);
            for (TransactionRecord r : records) {
                inFlight.add(new Append(List.of(r), durable -> { }, null));
            }
            for (TransactionMetadata m : model.values()) {
                boolean pending = c.hasPendingTransition(m.transactionalId());
                check(pending || m.state() != TransactionState.ONGOING
                        || m.txnStartTimestampMs() + m.txnTimeoutMs() >= nowMs, "timed out and not aborted: " + m);
                check(pending || !m.state().isIdle() || m.txnLastUpdateTimestampMs() > nowMs - EXPIRATION_MS,
                        "expired and not removed: " + m);
            }
        }

        void crash() {
            int keep = random.nextInt(inFlight.size() + 1);
            note("CRASH: keeping " + keep + " of " + inFlight.size() + " in-flight appends");
            stats.crashes++;
            int i = 0;
            for (Append a : inFlight) {
                if (i++ < keep) {
                    a.records().forEach(this::recordDurable);
                }
                if (a.producer() != null) {
                    a.producer().busy = false; // answered NOT_COORDINATOR: the outcome is unknown to it
                }
            }
            inFlight.clear();
            markerQueue.clear();
            coordinatorEpoch++;
            c = newCoordinator(random.nextBoolean() ? log : compactedView());
            collectMarkers();
            long prepared = model.values().stream().filter(m -> m.state().isPrepare()).count();
            check(markerQueue.size() == prepared, "a successor re-sends the markers of every Prepare record");
        }

        /** Producers stop, faults heal; everything in flight completes and every transaction ends. */
        void drain() {
            idsDry = false;
            for (int round = 0; round < 50; round++) {
                while (!inFlight.isEmpty() || !markerQueue.isEmpty()) {
                    while (!inFlight.isEmpty()) {
                        completeAppend(true);
                    }
                    while (!markerQueue.isEmpty()) {
                        deliverMarkers();
                    }
                }
                checkInvariants(true);
                if (model.values().stream().allMatch(m -> m.state().isIdle())) {
                    return;
                }
                tick(MAX_TIMEOUT_MS + 1);
            }
            throw new AssertionError("wedged: " + model);
        }

        // ---- the durable log and its model ----

        String txnKey(String transactionalId) {
            return transactionalId + "#" + txnSeq.getOrDefault(transactionalId, 0);
        }

        void recordDurable(TransactionRecord record) {
            String id = record.transactionalId();
            log.add(record);
            compacted.remove(id);
            compacted.put(id, record);
            TransactionMetadata previous = model.get(id);
            if (record instanceof Tombstone) {
                check(previous != null && previous.state().isIdle(), "tombstone of " + previous);
                model.remove(id);
                stats.expirations++;
                return;
            }
            TransactionMetadata m = ((MetadataRecord) record).metadata();
            if (previous == null) {
                check(m.state() == TransactionState.EMPTY, "a new id starts Empty: " + m);
                check(usedProducerIds.add(m.producerId()), "producer id reused " + m);
            } else {
                check(previous.state().canTransitionTo(m.state()), previous.state() + " -> " + m.state());
                if (previous.producerId() == m.producerId()) {
                    check(m.producerEpoch() >= previous.producerEpoch(), "epoch went back: " + previous + " -> " + m);
                } else {
                    check(m.producerEpoch() == 0 && m.previousProducerId() == previous.producerId()
                            && usedProducerIds.add(m.producerId()), "bad rotation " + previous + " -> " + m);
                    stats.rotations++;
                }
            }
            if (m.state() == TransactionState.ONGOING
                    && (previous == null || previous.state() != TransactionState.ONGOING)) {
                txnSeq.merge(id, 1, Integer::sum);
            }
            String key = txnKey(id);
            if (m.state().isPrepare()) {
                TransactionResult result = m.state() == TransactionState.PREPARE_COMMIT ? TransactionResult.COMMIT
                        : TransactionResult.ABORT;
                check(outcome.putIfAbsent(key, result) == null, "transaction " + key + " prepared twice");
                if (m.producerEpoch() > previous.producerEpoch()) {
                    stats.fencingAborts++; // a fencing abort (timeout or InitProducerId)
                }
            }
            if (m.state() == TransactionState.COMPLETE_COMMIT || m.state() == TransactionState.COMPLETE_ABORT) {
                TransactionResult result = m.state() == TransactionState.COMPLETE_COMMIT ? TransactionResult.COMMIT
                        : TransactionResult.ABORT;
                check(outcome.get(key) == result, "transaction " + key + " prepared " + outcome.get(key)
                        + " completed " + result);
                check(markersDone.contains(key), "transaction " + key + " completed before its markers");
                if (result == TransactionResult.COMMIT) {
                    stats.commits++;
                } else {
                    stats.aborts++;
                }
            }
            model.put(id, m);
        }

        List<TransactionRecord> compactedView() {
            return compacted.values().stream()
                    .filter(r -> keepTombstonesInCompaction || !(r instanceof Tombstone)).toList();
        }

        void checkInvariants(boolean fullLoad) {
            SortedMap<String, TransactionMetadata> live = c.snapshot();
            check(live.equals(model), "live state differs from the durable records:\n" + live + "\n" + model);
            check(live.size() <= MAX_IDS, "too many ids " + live.size());
            TransactionCoordinator loaded = new TransactionCoordinator(config, coordinatorEpoch + 1, () -> -1);
            loaded.load(compactedView());
            check(loaded.snapshot().equals(live), "a compacted load differs from the live state");
            if (fullLoad) {
                TransactionCoordinator full = new TransactionCoordinator(config, coordinatorEpoch + 1, () -> -1);
                full.load(log);
                check(full.snapshot().equals(live), "a full load differs from the live state");
            }
        }

        void note(String what) {
            if (trace.size() > 400) {
                trace.subList(0, 200).clear();
            }
            trace.add(nowMs + " " + what);
        }

        String history() {
            return "\nlast events:\n" + String.join("\n", trace.subList(Math.max(0, trace.size() - 60),
                    trace.size()));
        }
    }
}
