package io.tributary.node.network;

import java.util.ArrayList;
import java.util.List;

/**
 * The node's bound on request and response bytes held in memory, Kafka's {@code queued.max.request.bytes}: a
 * connection reserves a request's size as soon as it has read the size prefix, before it buffers any of the body,
 * and holds it until the request has been handled; a response holds its size until it has been written to the
 * socket. A connection whose reservation is refused stops reading (the socket stays open; the client's sends wait
 * in TCP buffers) and is woken when memory is given back, as Kafka mutes channels on memory pressure.
 *
 * <p>Two rules keep the node serving small requests while large ones wait:
 * <ul>
 *   <li>One frame larger than the whole general share is still admitted when nothing else holds the general share
 *       (Kafka's non-strict pool), so a request up to {@code socket.request.max.bytes} always makes progress; memory
 *       held is then at most that one frame plus the reserve.</li>
 *   <li>A quarter of the capacity is kept for frames of at most {@link #SMALL_FRAME_BYTES} (produce batches, fetch
 *       and metadata requests): clients sending many huge frames, or trickling them (slowloris), can hold the
 *       general share but not the reserve.</li>
 * </ul>
 * Responses are reserved without a check ({@link #forceReserve}): they already exist; counting them stops the
 * node reading further requests while much is waiting to be written, and fetches size their reads by
 * {@link #responseRoom()}.
 *
 * <p>Threads: any; all counts change under the pool's lock. A waiting connection is registered at most once
 * (the connection keeps a flag), so the wait list is bounded by the number of connections.
 */
public final class RequestMemoryPool {

    /** Frames up to this size may use the reserve. */
    static final int SMALL_FRAME_BYTES = 2 * 1024 * 1024;

    /** One reservation: its size, and which share it came from. */
    public record Reservation(long bytes, boolean fromReserve) {}

    private final long capacity;
    private final long general;
    private final long reserve;
    private long generalInUse;
    private long reserveInUse;
    private long refused;
    private final List<Runnable> waiting = new ArrayList<>();

    /** @param capacity bytes; {@code -1} for no bound (Kafka's meaning of -1) */
    public RequestMemoryPool(long capacity) {
        if (capacity != -1 && capacity < 1) {
            throw new IllegalArgumentException("capacity must be -1 or >= 1, was " + capacity);
        }
        this.capacity = capacity == -1 ? Long.MAX_VALUE : capacity;
        this.reserve = capacity == -1 ? 0 : capacity / 4;
        this.general = this.capacity - reserve;
    }

    /**
     * Reserves {@code bytes} for a request frame, or, if the pool has no room for it, registers {@code wake} to be
     * run (on the releasing thread; it must only hand work to its connection's event loop) once some memory is
     * given back, and returns null.
     */
    public Reservation tryReserve(long bytes, Runnable wake) {
        synchronized (this) {
            if (generalInUse == 0 || generalInUse + bytes <= general) {
                generalInUse += bytes;
                return new Reservation(bytes, false);
            }
            if (bytes <= SMALL_FRAME_BYTES && reserveInUse + bytes <= reserve) {
                reserveInUse += bytes;
                return new Reservation(bytes, true);
            }
            refused++;
            waiting.add(wake);
            return null;
        }
    }

    /** Counts {@code bytes} that already exist (a response) against the general share, even past its limit. */
    public Reservation forceReserve(long bytes) {
        synchronized (this) {
            generalInUse += bytes;
        }
        return new Reservation(bytes, false);
    }

    /** Gives a reservation back and wakes every waiting connection (each tries again). */
    public void release(Reservation reservation) {
        List<Runnable> woken;
        synchronized (this) {
            if (reservation.fromReserve()) {
                reserveInUse -= reservation.bytes();
            } else {
                generalInUse -= reservation.bytes();
            }
            if (waiting.isEmpty()) {
                return;
            }
            woken = new ArrayList<>(waiting);
            waiting.clear();
        }
        woken.forEach(Runnable::run);
    }

    /** Bytes a fetch may still add to the general share without going past it (0 when it is full). */
    public synchronized long responseRoom() {
        return Math.max(0, general - generalInUse);
    }

    /** Bytes held by requests and responses now. */
    public synchronized long used() {
        return generalInUse + reserveInUse;
    }

    /** The configured bound, or {@link Long#MAX_VALUE} for none. */
    public long capacity() {
        return capacity;
    }

    /** Connections waiting for memory now. */
    public synchronized int waitingConnections() {
        return waiting.size();
    }

    /** Reservations refused since start (each made a connection wait). */
    public synchronized long refusals() {
        return refused;
    }
}
