package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code log.cleaner.io.max.bytes.per.second}: the throttler sleeps the cleaning thread just long enough that the bytes
 * it reports never pass the rate, does not bank idle time, and is checked against the plain arithmetic on seeded
 * random runs. Virtual time only: the fake clock advances when the throttler sleeps or the "cleaner" works.
 */
class CleanerIoThrottlerTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    /** A clock that moves only when told to or when slept on; every sleep is recorded. */
    private static final class FakeTime implements CleanerIoThrottler.Time {
        long nowNs = 1_000 * MS;
        final List<Long> sleepsNs = new ArrayList<>();

        @Override
        public long nanoTime() {
            return nowNs;
        }

        @Override
        public void sleepNs(long ns) {
            assertThat(ns).isPositive();
            sleepsNs.add(ns);
            nowNs += ns;
        }

        void work(long ns) {
            nowNs += ns;
        }
    }

    @Test
    void sleepsAfterEachChunkForWhatItNeedsAtTheRateBeyondTheTimeAlreadyGone() throws InterruptedException {
        // Given 1000 bytes per second
        FakeTime time = new FakeTime();
        CleanerIoThrottler throttler = new CleanerIoThrottler(1000, time);

        // When 500 bytes are read at once: half a second's worth
        throttler.acquire(500);
        // Then it sleeps half a second, which ends the window
        assertThat(time.sleepsNs).containsExactly(500 * MS);

        // When 100-byte chunks follow, each taking 40 ms of work, within one window
        time.sleepsNs.clear();
        for (int i = 0; i < 3; i++) {
            time.work(40 * MS);
            throttler.acquire(100);
        }
        // Then each sleeps what is left of its 100 ms
        assertThat(time.sleepsNs).containsExactly(60 * MS, 60 * MS, 60 * MS);
    }

    @Test
    void aCleanerSlowerThanTheRateNeverSleeps() throws InterruptedException {
        FakeTime time = new FakeTime();
        CleanerIoThrottler throttler = new CleanerIoThrottler(1000, time);
        for (int i = 0; i < 20; i++) {
            time.work(150 * MS);
            throttler.acquire(100); // 100 bytes per 150 ms: below 1000/s
        }
        assertThat(time.sleepsNs).isEmpty();
    }

    @Test
    void idleTimeIsNotBankedForALaterBurst() throws InterruptedException {
        // Given a throttler idle for a minute
        FakeTime time = new FakeTime();
        CleanerIoThrottler throttler = new CleanerIoThrottler(1000, time);
        time.work(60_000 * MS);

        // When a clean then reads 1000 bytes twice in a row
        throttler.acquire(1000);
        throttler.acquire(1000);

        // Then the first chunk passes (as in Kafka, the window it ends was long) and the second waits its second
        assertThat(time.sleepsNs).containsExactly(1000 * MS);
    }

    @Test
    void kafkasDefaultRateNeverSleeps() throws InterruptedException {
        FakeTime time = new FakeTime();
        CleanerIoThrottler throttler = new CleanerIoThrottler(LogCleanerConfig.UNLIMITED_IO, time);
        for (int i = 0; i < 1000; i++) {
            throttler.acquire(Integer.MAX_VALUE);
        }
        assertThat(time.sleepsNs).isEmpty();
    }

    /**
     * Oracle: from the throttler's creation to the return of any call, the bytes reported are at most the rate times
     * the time gone (windows are contiguous and none ends over the rate); and it never sleeps more than needed: with
     * no work between calls, the time gone is the bytes' due time, to within a nanosecond per call.
     */
    @Test
    void neverPassesTheRateAndNeverSleepsMoreThanNeededOnRandomRuns() throws InterruptedException {
        long seed = System.nanoTime();
        System.out.println("CleanerIoThrottlerTest seed=" + seed);
        Random random = new Random(seed);
        for (int run = 0; run < 200; run++) {
            double rate = 1 + random.nextInt(10_000_000);
            boolean work = random.nextBoolean();
            FakeTime time = new FakeTime();
            long startNs = time.nowNs;
            CleanerIoThrottler throttler = new CleanerIoThrottler(rate, time);
            long bytes = 0;
            int calls = 1 + random.nextInt(200);
            for (int call = 0; call < calls; call++) {
                if (work) {
                    time.work(random.nextInt(200) * MS);
                }
                long chunk = random.nextInt(1 << 20);
                throttler.acquire(chunk);
                bytes += chunk;
                double elapsedSeconds = (time.nowNs - startNs) / 1e9;
                assertThat(bytes).as("seed %d run %d call %d", seed, run, call)
                        .isLessThanOrEqualTo((long) Math.ceil(rate * elapsedSeconds + 1e-6 * rate));
            }
            if (!work) {
                double dueNs = bytes * 1e9 / rate;
                assertThat((double) (time.nowNs - startNs)).as("seed %d run %d", seed, run)
                        .isLessThanOrEqualTo(dueNs + calls);
            }
        }
    }

    @Test
    void anInterruptWhileSleepingReachesTheClean() {
        CleanerIoThrottler.Time interrupted = new CleanerIoThrottler.Time() {
            @Override
            public long nanoTime() {
                return 0;
            }

            @Override
            public void sleepNs(long ns) throws InterruptedException {
                throw new InterruptedException("closing");
            }
        };
        CleanerIoThrottler throttler = new CleanerIoThrottler(1000, interrupted);
        assertThatThrownBy(() -> throttler.acquire(1000)).isInstanceOf(InterruptedException.class);
    }

    @Test
    void refusesARateThatIsNotPositiveAndNegativeBytes() {
        for (double rate : new double[] {0, -1, Double.NaN}) {
            assertThatThrownBy(() -> new LogCleanerConfig(true, 15_000, 1 << 20, rate, 1))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("log.cleaner.io.max.bytes.per.second must be > 0");
            assertThatThrownBy(() -> new CleanerIoThrottler(rate, new FakeTime()))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new CleanerIoThrottler(1, new FakeTime()).acquire(-1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(LogCleanerConfig.DEFAULTS.ioMaxBytesPerSecond()).isEqualTo(Double.MAX_VALUE);
    }
}
