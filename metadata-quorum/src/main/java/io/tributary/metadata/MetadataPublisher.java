package io.tributary.metadata;

import java.io.Closeable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands metadata images to the listeners on its own thread (Kafka's MetadataLoader/publishers), so that applying the
 * metadata log, on Ratis' state machine thread, never waits for a listener's disk I/O (opening and recovering logs,
 * loading groups): a slow listener delays only itself, never the quorum, its commits or the controller's answers.
 *
 * <p>Nothing is published before the node has caught up with the quorum ({@code caughtUp}: a leader is known and
 * everything committed is applied): a restarted node does not open logs and take roles from the stale image it
 * replays on the way (Kafka's MetadataLoader waits for the high watermark the same way). Listeners added meanwhile
 * get the empty image.
 *
 * <p>Images are coalesced: when several are applied while the listeners are busy, the listeners next see one change
 * from the last image they were given to the latest. Each listener sees images in offset order; a listener that
 * throws is logged and keeps getting later images. {@link #publishedOffset} is the offset of the last image every
 * listener has been given.
 *
 * <p>Threads: {@link #publish} from the applying thread, without blocking; listeners run on "metadata-publisher".
 */
final class MetadataPublisher implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(MetadataPublisher.class);
    private static final long CATCH_UP_CHECK_MS = 50;

    private final int nodeId;
    private final List<MetadataView.MetadataListener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicReference<MetadataImage> latest = new AtomicReference<>(MetadataImage.EMPTY);
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final ScheduledExecutorService thread;
    private final BooleanSupplier caughtUp;
    /** Publisher thread only. */
    private MetadataImage published = MetadataImage.EMPTY;
    /** Publisher thread only: caught up once, publishing from then on. */
    private boolean ready;
    private volatile long publishedOffset = -1;

    /** A publisher that publishes at once (a single node's own store is always caught up). */
    MetadataPublisher(int nodeId) {
        this(nodeId, () -> true);
    }

    MetadataPublisher(int nodeId, BooleanSupplier caughtUp) {
        this.nodeId = nodeId;
        this.caughtUp = caughtUp;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "metadata-publisher");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Makes {@code image} the next one to publish; returns at once. Called by the one thread that applies the
     * metadata log, in offset order: only it sets {@link #latest}.
     */
    void publish(MetadataImage image) {
        latest.set(image);
        scheduleDrain();
    }

    private void scheduleDrain() {
        if (scheduled.compareAndSet(false, true)) {
            try {
                thread.execute(this::drain);
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                scheduled.set(false);
            }
        }
    }

    private void drain() {
        if (!ready) {
            if (!caughtUp.getAsBoolean()) {
                // Still replaying or without a leader: look again shortly (scheduled stays set meanwhile).
                thread.schedule(this::drain, CATCH_UP_CHECK_MS, TimeUnit.MILLISECONDS);
                return;
            }
            ready = true;
            log.info("node={} caught up with the metadata quorum at offset {}: publishing images", nodeId,
                    latest.get().offset());
        }
        scheduled.set(false);
        MetadataImage next = latest.get();
        if (next == published) {
            return;
        }
        if (next.offset() < published.offset()) {
            // Never hand listeners an older image than they have (a replica manager would act on stale roles).
            log.error("node={} not publishing the image at offset {}: the one at {} was published already", nodeId,
                    next.offset(), published.offset());
            return;
        }
        MetadataImage previous = published;
        for (MetadataView.MetadataListener listener : listeners) {
            notify(listener, previous, next);
        }
        published = next;
        publishedOffset = next.offset();
    }

    private void notify(MetadataView.MetadataListener listener, MetadataImage previous, MetadataImage next) {
        try {
            listener.onImage(previous, next);
        } catch (RuntimeException e) {
            log.error("node={} metadata listener {} failed on the image at offset {}", nodeId, listener,
                    next.offset(), e);
        }
    }

    /**
     * Adds a listener and gives it the last published image (from the empty one), on the publisher thread; returns
     * once that is done, so that listeners added one after another are ready in that order.
     */
    void addListener(MetadataView.MetadataListener listener) {
        try {
            thread.submit(() -> {
                listeners.add(listener);
                notify(listener, MetadataImage.EMPTY, published);
            }).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while adding a metadata listener", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot add a metadata listener", e.getCause());
        }
        // Anything applied meanwhile reaches the new listener with the next drain. Only a drain is scheduled:
        // setting latest here (publish(latest.get())) could put back an image older than one the applying thread
        // set in between, which would then be lost, or handed to the listeners after a newer one.
        scheduleDrain();
    }

    /** The offset of the last image every listener has been given; -1 before the first. */
    long publishedOffset() {
        return publishedOffset;
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
