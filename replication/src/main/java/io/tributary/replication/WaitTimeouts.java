package io.tributary.replication;

import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Timeouts for waits that almost always end before their deadline: a follower's fetch parked on the leader, a
 * consumer's long poll, an acks=all produce waiting for the ISR. The JDK's {@code completeOnTimeout}/{@code orTimeout}
 * put each one in a locked queue, wake its single delayer thread whenever a new one is due first, and take it out
 * again under the lock when the wait ends: at tens of thousands of waits a second that showed up in profiles as the
 * delayer thread's wake-ups and the waiters' {@code unpark} calls (docs/benchmarks.md). Here adding a timeout is one
 * lock-free queue insert. One thread sleeps until the earliest deadline it knows of, ended waits' included, and is
 * woken early only by a new timeout due before that; since the waits of one kind share a timeout, a new one is
 * almost never due first, so under load the thread wakes about once per timeout length, not once per wait. A wait
 * that ended is not taken out: it is dropped when it reaches the head of the queue, or earlier in a bulk purge of
 * ended waits, which runs whenever the timeouts held reach twice the number the last purge left (so, amortised,
 * O(1) per wait).
 *
 * <p>Like the JDK's delayer, the thread completes due futures itself, so what a caller chains without an executor
 * runs on it. Bounded: at most twice the live waits of the last purge (at least {@link #MIN_PURGE}) plus those added
 * since are held; the waits themselves are bounded by the connections and their in-flight requests.
 */
public final class WaitTimeouts implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WaitTimeouts.class);

    /** Pending entries below which ended waits are never purged. */
    static final int MIN_PURGE = 4096;
    /** The longest the thread sleeps, with nothing pending or before the first deadline (a new timeout wakes it). */
    private static final long IDLE_PARK_NS = TimeUnit.SECONDS.toNanos(1);

    private record Entry(long deadlineNs, CompletableFuture<?> future, Object value, boolean exceptional) {}

    private final ConcurrentLinkedQueue<Entry> added = new ConcurrentLinkedQueue<>();
    /** The timer thread's own: every entry it has taken from {@link #added}, earliest deadline first. */
    private final PriorityQueue<Entry> pending = new PriorityQueue<>(
            (a, b) -> Long.compare(a.deadlineNs, b.deadlineNs));
    private final Thread thread;
    private final long idleParkNs;
    /** Whether the thread is parked (or about to park) until {@link #wakeAtNs}; written by the thread. */
    private volatile boolean parked;
    private volatile long wakeAtNs;
    private volatile boolean closed;
    private volatile int pendingCount;
    private int purgeAt = MIN_PURGE;

    public WaitTimeouts(String threadName) {
        this(threadName, true, IDLE_PARK_NS);
    }

    /**
     * @param start false in tests that call {@link #tick} themselves (the thread is then never started)
     * @param idleParkNs how long the thread sleeps with nothing pending (tests: long, to show a new timeout wakes it)
     */
    WaitTimeouts(String threadName, boolean start, long idleParkNs) {
        this.idleParkNs = idleParkNs;
        thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
        if (start) {
            thread.start();
        }
    }

    /** Completes {@code future} with {@code value} after {@code timeoutMs} unless it is complete by then. */
    public <T> CompletableFuture<T> completeOnTimeout(CompletableFuture<T> future, T value, long timeoutMs) {
        add(new Entry(deadline(timeoutMs), future, value, false));
        return future;
    }

    /** Completes {@code future} with a {@link TimeoutException} after {@code timeoutMs} unless it is complete then. */
    public <T> CompletableFuture<T> orTimeout(CompletableFuture<T> future, long timeoutMs) {
        add(new Entry(deadline(timeoutMs), future, null, true));
        return future;
    }

    /** Timeouts held now, fired or not yet (ended waits included until they are purged or due). */
    public int pending() {
        return pendingCount + added.size();
    }

    /** Whether the thread is asleep with nothing pending (tests). */
    boolean idle() {
        return parked && pendingCount == 0;
    }

    /** Whether the thread is asleep until a deadline or a new earlier timeout (tests). */
    boolean parked() {
        return parked;
    }

    private static long deadline(long timeoutMs) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, timeoutMs));
    }

    private void add(Entry e) {
        if (e.future.isDone()) {
            return;
        }
        if (closed) {
            fire(e); // no thread to wait for it: time out at once rather than never
            return;
        }
        added.add(e);
        // The thread publishes wakeAtNs, then parked, then looks at the queue once more before it parks; this
        // thread adds, then reads them: either the thread sees the entry, or this sees that it sleeps and until when.
        if (parked && e.deadlineNs - wakeAtNs < 0) {
            LockSupport.unpark(thread);
        }
        if (closed) { // closed meanwhile: the thread may have drained the queue for the last time already
            fireAdded();
        }
    }

    private void run() {
        while (!closed) {
            try {
                tick(System.nanoTime());
            } catch (Throwable t) {
                log.error("timeouts thread: a tick failed; continuing", t);
            }
            long nowNs = System.nanoTime();
            long sleepNs = pending.isEmpty() ? idleParkNs : Math.min(idleParkNs, pending.peek().deadlineNs - nowNs);
            if (sleepNs <= 0) {
                continue;
            }
            wakeAtNs = nowNs + sleepNs;
            parked = true;
            if (added.isEmpty() && !closed) {
                LockSupport.parkNanos(this, sleepNs);
            }
            parked = false;
        }
        // Closing: whatever still waits times out now, so that no caller waits for a thread that is gone.
        fireAdded();
        for (Entry e; (e = pending.poll()) != null; ) {
            fire(e);
        }
        pendingCount = 0;
    }

    private void fireAdded() {
        for (Entry e; (e = added.poll()) != null; ) {
            fire(e);
        }
    }

    /** One pass: takes in the new timeouts, fires the due ones, purges ended waits if they pile up. */
    void tick(long nowNs) {
        for (Entry e; (e = added.poll()) != null; ) {
            if (!e.future.isDone()) {
                pending.add(e);
            }
        }
        while (!pending.isEmpty() && (pending.peek().deadlineNs - nowNs <= 0 || pending.peek().future.isDone())) {
            fire(pending.poll()); // due, or ended early: either way it leaves (fire skips an ended wait)
        }
        if (pending.size() >= purgeAt) {
            pending.removeIf(e -> e.future.isDone());
            purgeAt = Math.max(MIN_PURGE, 2 * pending.size());
        }
        pendingCount = pending.size();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void fire(Entry e) {
        if (e.future.isDone()) {
            return;
        }
        try {
            if (e.exceptional) {
                e.future.completeExceptionally(new TimeoutException());
            } else {
                ((CompletableFuture) e.future).complete(e.value);
            }
        } catch (RuntimeException ex) {
            log.error("a timed-out wait's completion failed", ex);
        }
    }

    /** Stops the thread; every pending timeout fires now. */
    @Override
    public void close() {
        closed = true;
        if (!thread.isAlive()) {
            run(); // never started (tests): fire what is pending here
            return;
        }
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
