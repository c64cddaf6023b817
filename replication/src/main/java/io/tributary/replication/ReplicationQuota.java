package io.tributary.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One side's replication throttle (Kafka's {@code ReplicationQuotaManager}, KIP-73): a byte rate bound for the
 * replicas marked throttled on this node, so that moving a replica does not starve producers and in-sync followers.
 * The leader side holds back the records of a throttled partition from a follower that is not in the ISR, the
 * follower side leaves a throttled partition out of its fetches while it is not in the ISR, both only while the
 * rate of throttled bytes is over the bound ({@code leader.replication.throttled.rate} /
 * {@code follower.replication.throttled.rate}, dynamic broker configs). The partitions are marked by the topic
 * configs {@code leader.replication.throttled.replicas} / {@code follower.replication.throttled.replicas}: a list
 * of {@code partition:broker} entries, of which this node takes those naming itself, or {@code *} for all.
 *
 * <p>The rate is Kafka's: bytes over the last {@link #SAMPLES} windows of {@link #WINDOW_MS}, divided by the time
 * they span but at least {@code SAMPLES - 1} windows, so a throttled copy starts with a burst of about ten seconds'
 * worth and then keeps to the bound. A check that passes lets one answer through whatever its size (up to the
 * fetch's max bytes), as in Kafka.
 *
 * <p>Time comes in with each call; no clock inside. Threads: any; state is guarded by this object.
 */
public final class ReplicationQuota {

    /** Kafka's {@code replication.quota.window.num} and {@code replication.quota.window.size.seconds} defaults. */
    static final int SAMPLES = 11;
    static final long WINDOW_MS = 1_000;
    /** No bound: Kafka's default for both rates. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    private final String side;
    private volatile long bytesPerSecond = UNLIMITED;
    /** topic -> throttled partitions of that topic on this node ({@link #ALL} for '*'); replaced, never changed. */
    private volatile Map<String, Set<Integer>> throttled = Map.of();
    /** Window start (ms) and bytes of each sample, oldest first. */
    private final long[] sampleStart = new long[SAMPLES];
    private final long[] sampleBytes = new long[SAMPLES];
    private int samples;
    private final AtomicLong recordedBytes = new AtomicLong();
    private final AtomicLong heldBack = new AtomicLong();

    /** Marks every partition of a topic ('*'). */
    static final Set<Integer> ALL = Set.of(-1);

    /** @param side "leader" or "follower", for logs and metrics */
    public ReplicationQuota(String side) {
        this.side = side;
    }

    public String side() {
        return side;
    }

    /** The bound in bytes per second, {@link #UNLIMITED} if none. */
    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    void setBytesPerSecond(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond < 0 ? UNLIMITED : bytesPerSecond;
    }

    void setThrottled(Map<String, Set<Integer>> throttled) {
        this.throttled = Map.copyOf(throttled);
    }

    /** Topics with throttled partitions on this node: topic -> partitions, {@link #ALL} for every partition. */
    Map<String, Set<Integer>> throttled() {
        return throttled;
    }

    /** Whether {@code id} is marked throttled on this node (whatever the rate). */
    public boolean isThrottled(PartitionId id) {
        Set<Integer> partitions = throttled.get(id.topic());
        return partitions != null && (partitions == ALL || partitions.contains(id.partition()));
    }

    /** Whether the rate of throttled bytes is now over the bound; never without a bound. */
    public synchronized boolean isExceeded(long nowMs) {
        long bound = bytesPerSecond;
        if (bound == UNLIMITED) {
            return false;
        }
        purge(nowMs);
        if (samples == 0) {
            return false;
        }
        long total = 0;
        for (int i = 0; i < samples; i++) {
            total += sampleBytes[i];
        }
        long elapsedMs = Math.max(nowMs - sampleStart[0], (SAMPLES - 1) * WINDOW_MS);
        return total * 1_000.0 / elapsedMs > bound;
    }

    /** The rate of throttled bytes now, in bytes per second (as {@link #isExceeded} measures it). */
    public synchronized double rate(long nowMs) {
        purge(nowMs);
        long total = 0;
        for (int i = 0; i < samples; i++) {
            total += sampleBytes[i];
        }
        long elapsedMs = samples == 0 ? (SAMPLES - 1) * WINDOW_MS
                : Math.max(nowMs - sampleStart[0], (SAMPLES - 1) * WINDOW_MS);
        return total * 1_000.0 / elapsedMs;
    }

    /** Counts {@code bytes} of throttled partitions sent (leader) or received (follower) at {@code nowMs}. */
    public synchronized void record(long bytes, long nowMs) {
        if (bytes <= 0) {
            return;
        }
        recordedBytes.addAndGet(bytes);
        purge(nowMs);
        if (samples == 0 || nowMs >= sampleStart[samples - 1] + WINDOW_MS) {
            if (samples == SAMPLES) {
                shiftOut();
            }
            sampleStart[samples] = nowMs;
            sampleBytes[samples] = 0;
            samples++;
        }
        sampleBytes[samples - 1] += bytes;
    }

    /** Counts one partition's fetch held back by this throttle. */
    void onHeldBack() {
        heldBack.incrementAndGet();
    }

    /** Bytes of throttled partitions counted since start. */
    public long recordedBytes() {
        return recordedBytes.get();
    }

    /** Partition fetches held back since start (a leader's empty answer, a follower's skipped partition). */
    public long heldBack() {
        return heldBack.get();
    }

    /** Drops samples whose window ended more than {@link #SAMPLES} windows ago (or lies in the future). */
    private void purge(long nowMs) {
        while (samples > 0 && (sampleStart[0] + SAMPLES * WINDOW_MS <= nowMs || sampleStart[0] > nowMs)) {
            shiftOut();
        }
    }

    private void shiftOut() {
        System.arraycopy(sampleStart, 1, sampleStart, 0, samples - 1);
        System.arraycopy(sampleBytes, 1, sampleBytes, 0, samples - 1);
        samples--;
    }

    /**
     * The partitions of one topic that a throttled-replicas config value marks on broker {@code nodeId}, as
     * Kafka's {@code parseThrottledPartitions}: empty for "", {@link #ALL} for "*", else the partitions of the
     * {@code partition:broker} entries naming {@code nodeId}.
     *
     * @throws IllegalArgumentException if the value is not of that form ({@link #problem})
     */
    static Set<Integer> parse(String value, int nodeId) {
        String problem = problem("throttled replicas", value);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        String v = value.trim();
        if (v.isEmpty()) {
            return Set.of();
        }
        if (v.equals("*")) {
            return ALL;
        }
        List<Integer> partitions = new ArrayList<>();
        for (String entry : v.split(",")) {
            String[] pair = entry.trim().split(":");
            if (Integer.parseInt(pair[1].trim()) == nodeId) {
                partitions.add(Integer.parseInt(pair[0].trim()));
            }
        }
        return Set.copyOf(partitions);
    }

    /**
     * Null if {@code value} is a valid throttled-replicas list (Kafka's {@code ThrottledReplicaListValidator}): empty,
     * the wildcard {@code *}, or comma-separated {@code partition:broker} pairs of non-negative integers; else why.
     */
    public static String problem(String name, String value) {
        String v = value == null ? "" : value.trim();
        if (v.isEmpty() || v.equals("*")) {
            return null;
        }
        for (String entry : v.split(",", -1)) {
            if (!entry.trim().matches("[0-9]+\\s*:\\s*[0-9]+")) {
                return "Invalid value " + value + " for configuration " + name + ": must be the literal '*' or a "
                        + "list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:"
                        + "[brokerId],...";
            }
        }
        for (String entry : v.split(",")) {
            for (String number : entry.split(":")) {
                try {
                    Integer.parseInt(number.trim());
                } catch (NumberFormatException e) {
                    return "Invalid value " + value + " for configuration " + name + ": " + number.trim()
                            + " is out of range";
                }
            }
        }
        return null;
    }
}
