package io.tributary.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class WaitTimeoutsTest {
    private static final long MS = 1_000_000L;

    /** A timer whose thread never runs: each test drives it with {@link WaitTimeouts#tick} and its own clock. */
    private static WaitTimeouts manual() {
        return new WaitTimeouts("test-timeouts", false, TimeUnit.HOURS.toNanos(1));
    }

    @Test
    void aTimeoutFiresWhenDueAndNotBefore() {
        WaitTimeouts timer = manual();
        long start = System.nanoTime();
        CompletableFuture<String> f = timer.completeOnTimeout(new CompletableFuture<>(), "timed out", 100);
        timer.tick(start);
        assertFalse(f.isDone(), "fired 100 ms early");
        timer.tick(start + 99 * MS);
        assertFalse(f.isDone(), "fired 1 ms early");
        timer.tick(start + 101 * MS + TimeUnit.SECONDS.toNanos(1)); // past the deadline, however slow the test ran
        assertEquals("timed out", f.join());
    }

    @Test
    void orTimeoutFailsTheFutureWithATimeoutException() {
        WaitTimeouts timer = manual();
        CompletableFuture<Void> f = timer.orTimeout(new CompletableFuture<>(), 10);
        timer.tick(System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        assertInstanceOf(TimeoutException.class, e.getCause());
    }

    @Test
    void aWaitThatEndedFirstKeepsItsResultAndIsDroppedFromTheTimer() {
        WaitTimeouts timer = manual();
        CompletableFuture<String> f = timer.completeOnTimeout(new CompletableFuture<>(), "timed out", 50);
        CompletableFuture<Void> g = timer.orTimeout(new CompletableFuture<>(), 50);
        timer.tick(System.nanoTime());
        assertEquals(2, timer.pending());
        f.complete("data");
        g.complete(null);
        timer.tick(System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        assertEquals("data", f.join());
        assertEquals(null, g.join());
        assertEquals(0, timer.pending());
    }

    @Test
    void endedWaitsArePurgedBeforeTheirDeadlineOnceTheHeldOnesDouble() {
        WaitTimeouts timer = manual();
        long thirtyMinutes = TimeUnit.MINUTES.toMillis(30);
        int n = 3 * WaitTimeouts.MIN_PURGE;
        List<CompletableFuture<Void>> ended = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ended.add(timer.orTimeout(new CompletableFuture<>(), thirtyMinutes));
        }
        timer.tick(System.nanoTime()); // all n live: none purged, the next purge when 2n are held
        assertEquals(n, timer.pending());
        ended.forEach(w -> w.complete(null)); // they end long before their 30-minute timeouts
        List<CompletableFuture<Void>> live = new ArrayList<>();
        for (int i = 0; i <= n; i++) {
            live.add(timer.orTimeout(new CompletableFuture<>(), thirtyMinutes));
        }
        timer.tick(System.nanoTime());
        assertEquals(n + 1, timer.pending(), "ended waits still held, or live ones dropped");
        timer.tick(System.nanoTime() + TimeUnit.HOURS.toNanos(1));
        assertTrue(live.stream().allMatch(CompletableFuture::isCompletedExceptionally), "a live wait never timed out");
        assertTrue(ended.stream().noneMatch(CompletableFuture::isCompletedExceptionally));
    }

    @Test
    void closingFiresEveryPendingTimeout() {
        WaitTimeouts timer = manual();
        CompletableFuture<String> f = timer.completeOnTimeout(new CompletableFuture<>(), "closed", 60_000);
        timer.tick(System.nanoTime());
        CompletableFuture<String> g = timer.completeOnTimeout(new CompletableFuture<>(), "closed", 60_000);
        timer.close();
        assertEquals("closed", f.join());
        assertEquals("closed", g.join());
        CompletableFuture<String> late = timer.completeOnTimeout(new CompletableFuture<>(), "closed", 60_000);
        assertEquals("closed", late.join(), "a timeout added after close must not wait forever");
    }

    @Test
    void theThreadFiresTimeoutsAndAnIdleThreadIsWokenByANewOne() throws Exception {
        // An idle sleep of an hour: the second timeout fires in time only if adding it wakes the thread.
        try (WaitTimeouts timer = new WaitTimeouts("test-timeouts", true, TimeUnit.HOURS.toNanos(1))) {
            CompletableFuture<String> first = timer.completeOnTimeout(new CompletableFuture<>(), "first", 10);
            assertEquals("first", first.get(30, TimeUnit.SECONDS));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!timer.idle()) {
                assertTrue(System.nanoTime() < deadline, "the thread never went idle");
                Thread.onSpinWait();
            }
            // Asleep with nothing pending: an hour-long timeout does not need it before its idle sleep ends, the
            // 10 ms one does and wakes it.
            CompletableFuture<String> hour = timer.completeOnTimeout(new CompletableFuture<>(), "hour", 3_600_000);
            CompletableFuture<String> second = timer.completeOnTimeout(new CompletableFuture<>(), "second", 10);
            assertEquals("second", second.get(30, TimeUnit.SECONDS));

            // Asleep until the hour-long timeout: a new one due sooner wakes it.
            while (!(timer.parked() && !timer.idle() && timer.pending() == 1)) {
                assertTrue(System.nanoTime() < deadline, "the thread never slept until the hour-long timeout");
                Thread.onSpinWait();
            }
            CompletableFuture<String> third = timer.completeOnTimeout(new CompletableFuture<>(), "third", 10);
            assertEquals("third", third.get(30, TimeUnit.SECONDS));
            assertFalse(hour.isDone());
        }
    }
}
