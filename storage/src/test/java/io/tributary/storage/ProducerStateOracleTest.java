package io.tributary.storage;

import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.deleteSnapshots;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Oracle test (compare against a dumb version): seeded random histories of a log (several idempotent producers with
 * epoch bumps, plain batches, leader epoch changes, segment rolls, follower truncations, producer expiration, clean
 * restarts, and crashes with and without a torn tail) run on a log that opens and truncates from producer snapshots.
 * After every truncation, expiration and restart its producer state and leader epoch cache must equal those of a
 * full replay: a copy of its directory with the snapshots deleted, opened.
 *
 * <p>Two rules make the comparison exact. Both sides are compared after the same expiration (a full replay brings
 * back expired producers, until the next expiration check forgets them again). And a producer that expired is
 * retired (writes no more): one that came back would start from a fresh state, which a full replay of its older
 * batches would not give (nor would Kafka's snapshots). The seed is in every failure message.
 */
class ProducerStateOracleTest {
    static final long EXPIRATION_MS = 40_000;
    static final int SEEDS = 10;
    static final int STEPS = 200;
    /** Small segments (1 KiB, about a dozen batches), so that histories roll often and snapshots pile up. */
    static final LogConfig CONFIG = new LogConfig(1024, 3_600_000, -1, -1, 1_048_588, 256, 4096);

    @TempDir
    Path tmp;

    /** What the histories did, so that the test fails if a path was never taken. */
    private final Map<String, Integer> coverage = new HashMap<>();
    private int copies;

    /** Seeds 1..{@value #SEEDS}, or only {@code -Doracle.seed=N} to replay a failing one. */
    @Test
    void theStateFromSnapshotsEqualsAFullReplayOfTheLog() throws IOException {
        Long only = Long.getLong("oracle.seed");
        if (only != null) {
            new History(only).run();
            return;
        }
        for (long seed = 1; seed <= SEEDS; seed++) {
            new History(seed).run();
        }
        System.out.println("ProducerStateOracleTest coverage: " + coverage);
        assertThat(coverage).as("paths taken over all seeds").containsKeys("truncation", "expired producer",
                "clean restart", "crash", "torn tail", "open from a snapshot", "truncation from a snapshot");
    }

    private void count(String what) {
        coverage.merge(what, 1, Integer::sum);
    }

    /** One seeded history of one log. */
    private final class History {
        final long seed;
        final Random random;
        final TestBatches.MutableClock clock = new TestBatches.MutableClock(10_000_000);
        final List<Long> activeProducers = new ArrayList<>();
        final Map<Long, Short> producerEpochs = new HashMap<>();
        long nextProducerId = 100;
        int leaderEpoch;
        int restarts;
        Path dir;
        PartitionLog log;

        History(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
        }

        void run() throws IOException {
            dir = tmp.resolve("seed-" + seed + "-0");
            log = PartitionLog.open(dir, CONFIG, clock);
            for (int i = 0; i < 4; i++) {
                addProducer();
            }
            try {
                for (int step = 0; step < STEPS; step++) {
                    step(step);
                }
            } finally {
                log.close();
            }
        }

        void step(int step) throws IOException {
            int dice = random.nextInt(100);
            if (dice < 70) {
                append();
            } else if (dice < 77) {
                clock.advance(random.nextInt((int) EXPIRATION_MS / 2));
                if (random.nextInt(4) == 0 && activeProducers.size() > 1) {
                    activeProducers.remove(random.nextInt(activeProducers.size())); // stops writing
                    addProducer();
                }
            } else if (dice < 84) {
                expire();
                check("expiration at step " + step);
            } else if (dice < 90) {
                truncate();
                check("truncation at step " + step);
            } else if (dice < 95) {
                cleanRestart();
                check("clean restart at step " + step);
            } else {
                crash();
                check("crash at step " + step);
            }
        }

        void addProducer() {
            activeProducers.add(nextProducerId++);
        }

        void append() throws IOException {
            clock.advance(random.nextInt(500));
            if (random.nextInt(30) == 0) {
                leaderEpoch++;
            }
            int records = 1 + random.nextInt(3);
            var values = TestBatches.records(records, clock.millis(), 10);
            if (random.nextInt(10) == 0) {
                log.append(MemoryRecords.withRecords(Compression.NONE, values).buffer(), leaderEpoch);
                return;
            }
            long producerId = activeProducers.get(random.nextInt(activeProducers.size()));
            Optional<ProducerStateManager.ProducerEntry> entry = log.producerState().entry(producerId);
            short epoch = entry.map(ProducerStateManager.ProducerEntry::producerEpoch)
                    .orElse(producerEpochs.getOrDefault(producerId, (short) 0));
            int sequence = entry.map(e -> e.lastSequence() + 1).orElse(0);
            if (random.nextInt(12) == 0) {
                epoch++;
                sequence = 0;
            }
            producerEpochs.put(producerId, epoch);
            log.append(MemoryRecords.withIdempotentRecords(Compression.NONE, producerId, epoch, sequence, values)
                    .buffer(), leaderEpoch);
        }

        void expire() {
            Set<Long> before = log.producerState().entries().keySet();
            log.expireProducers(EXPIRATION_MS);
            Set<Long> after = log.producerState().entries().keySet();
            for (long producerId : before) {
                if (!after.contains(producerId) && activeProducers.remove(Long.valueOf(producerId))) {
                    count("expired producer");
                    addProducer(); // the expired one is retired, see the class comment
                }
            }
        }

        /** Mostly a follower's short divergent tail; sometimes anywhere in the log. */
        void truncate() throws IOException {
            long start = log.logStartOffset();
            long end = log.logEndOffset();
            long target = random.nextInt(4) == 0 ? start + (long) (random.nextDouble() * (end - start + 1))
                    : Math.max(start, end - random.nextInt(60));
            boolean fromSnapshot = TestBatches.snapshotOffsets(dir).stream()
                    .anyMatch(offset -> offset > start && offset <= target);
            log.truncateTo(target);
            count("truncation");
            if (fromSnapshot) {
                count("truncation from a snapshot");
            }
        }

        void cleanRestart() throws IOException {
            Map<Long, ProducerStateManager.ProducerEntry> before = log.producerState().entries();
            List<EpochEntry> epochs = log.leaderEpochCache().entries();
            log.close();
            log = PartitionLog.open(dir, CONFIG, clock);
            count("clean restart");
            // exactly the state at close: the snapshot written at close holds it, nothing else is read
            assertThat(log.producerState().entries()).as("seed %d: state after a clean restart", seed)
                    .isEqualTo(before);
            assertThat(log.leaderEpochCache().entries()).as("seed %d: epochs after a clean restart", seed)
                    .isEqualTo(epochs);
            assertThat(log.headersReadAtOpen()).as("seed %d: headers read after a clean restart", seed).isZero();
        }

        /** Copies the open log's directory (what a crash leaves), maybe tears the last batch, continues with it. */
        void crash() throws IOException {
            Path crashed = copyDir(dir, tmp.resolve("seed-" + seed + "-" + ++restarts));
            log.close();
            count("crash");
            if (random.nextBoolean()) {
                Path last = lastLogFile(crashed);
                long size = Files.size(last);
                if (size > 0) {
                    TestBatches.chopTail(last, 1 + random.nextInt((int) Math.min(size, 40)));
                    count("torn tail");
                }
            }
            dir = crashed;
            log = PartitionLog.open(dir, CONFIG, clock);
        }

        /** The log's state against a full replay of a copy of its directory, after the same expiration. */
        void check(String when) throws IOException {
            Path copy = copyDir(dir, tmp.resolve("replay-" + ++copies));
            deleteSnapshots(copy);
            try (PartitionLog replayed = PartitionLog.open(copy, CONFIG, clock)) {
                assertThat(unexpired(log.producerState().entries()))
                        .as("seed %d, %s: producer state against a full replay", seed, when)
                        .isEqualTo(unexpired(replayed.producerState().entries()));
                assertThat(log.leaderEpochCache().entries())
                        .as("seed %d, %s: leader epochs against a full replay", seed, when)
                        .isEqualTo(replayed.leaderEpochCache().entries());
                if (when.startsWith("clean restart") || when.startsWith("crash")) {
                    if (log.headersReadAtOpen() < replayed.headersReadAtOpen()) {
                        count("open from a snapshot");
                    }
                }
            }
            PartitionLog.deleteDirectory(copy);
        }

        Map<Long, ProducerStateManager.ProducerEntry> unexpired(Map<Long, ProducerStateManager.ProducerEntry> all) {
            Map<Long, ProducerStateManager.ProducerEntry> kept = new HashMap<>(all);
            kept.values().removeIf(entry -> clock.millis() - entry.lastTimestamp() >= EXPIRATION_MS);
            return kept;
        }

        Path lastLogFile(Path in) throws IOException {
            try (var files = Files.list(in)) {
                return files.filter(f -> f.toString().endsWith(LogSegment.LOG_SUFFIX)).sorted()
                        .reduce((a, b) -> b).orElseThrow();
            }
        }
    }
}
