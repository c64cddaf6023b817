package io.tributary.metadata;

import io.tributary.proto.metadata.BrokerHeartbeatRequest;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.Endpoint;
import io.tributary.proto.metadata.FetchMetadataRequest;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.MetadataUpdate;
import io.tributary.proto.metadata.OffsetBatch;
import io.tributary.proto.metadata.RegisterBrokerRequest;
import java.io.Closeable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A broker's membership of the cluster: it registers this process (a new incarnation id per start) with the active
 * controller, heartbeats every {@code heartbeatIntervalMs}, registers again when the controller no longer knows its
 * epoch, and keeps the node's metadata view current.
 *
 * <p>A voter reads the image of its own quorum member ({@code localView}); any other broker builds its image from
 * the metadata updates that heartbeat (and fetch) answers carry: the batches after its offset, or a snapshot.
 *
 * <p>States: unregistered -> registered (fenced) -> unfenced; back to unregistered when told to register again.
 * Threads: one scheduler thread sends requests; answers are applied under this object's lock.
 */
public final class BrokerLifecycle implements MetadataView, Closeable {

    private static final Logger log = LoggerFactory.getLogger(BrokerLifecycle.class);

    /** The longest a registration or heartbeat may stay unanswered before the next one is sent. */
    static final long MAX_IN_FLIGHT_MS = 60_000;

    private final int nodeId;
    private final String incarnationId = UUID.randomUUID().toString();
    private final List<BrokerRegistration.BrokerEndpoint> endpoints;
    private final ControllerChannel controller;
    private final MetadataView localView;
    private final long heartbeatIntervalMs;
    private final List<MetadataListener> listeners = new CopyOnWriteArrayList<>();
    private final CompletableFuture<Void> unfenced = new CompletableFuture<>();
    private final ConcurrentSkipListMap<Long, CompletableFuture<Void>> offsetWaiters = new ConcurrentSkipListMap<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "broker-lifecycle");
        t.setDaemon(true);
        return t;
    });
    private volatile MetadataImage image = MetadataImage.EMPTY;
    private volatile long brokerEpoch = -1;
    private volatile int controllerId = -1;
    private volatile LongSupplier publishedOffset;
    /** When an active controller last answered (System.nanoTime), 0 before any answer. */
    private volatile long lastContactNs;
    private volatile boolean fenced = true;
    private boolean inFlight;

    /**
     * @param localView the voter's own quorum state, or null for a broker that is not a voter
     */
    public BrokerLifecycle(int nodeId, List<BrokerRegistration.BrokerEndpoint> endpoints,
            ControllerChannel controller, MetadataView localView, long heartbeatIntervalMs) {
        this.nodeId = nodeId;
        this.endpoints = List.copyOf(endpoints);
        this.controller = controller;
        this.localView = localView;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        if (localView != null) {
            localView.addListener((previous, next) -> completeWaiters(Math.min(next.offset(), reportedOffset())));
        }
    }

    /**
     * The metadata offset this node's components have acted on (opened logs, taken roles), when that can lag the
     * image: heartbeats report the lower of the two, so that the controller unfences this broker (and may make it
     * a leader) only once its replicas are ready for the metadata up to its registration.
     */
    public void setPublishedOffset(LongSupplier offset) {
        this.publishedOffset = offset;
    }

    /**
     * Tells the lifecycle that the components behind {@link #setPublishedOffset} have acted on a new image (call it
     * from a listener added after theirs): waiters of {@link #awaitOffset} up to there complete.
     */
    public void onPublished() {
        completeWaiters(reportedOffset());
    }

    private long reportedOffset() {
        long offset = image().offset();
        LongSupplier published = publishedOffset;
        return published == null ? offset : Math.min(offset, published.getAsLong());
    }

    /** Starts registering and heartbeating; the future completes once the controller has unfenced this broker. */
    public CompletableFuture<Void> start() {
        thread.scheduleWithFixedDelay(this::tick, 0, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
        return unfenced;
    }

    public long brokerEpoch() {
        return brokerEpoch;
    }

    /** Whether the controller's last heartbeat answer said this broker is fenced (true before any). */
    public boolean isFenced() {
        return fenced;
    }

    /** Milliseconds since an active controller last answered this broker; -1 if none ever did. */
    public long msSinceControllerContact() {
        long last = lastContactNs;
        return last == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - last);
    }

    /** The id of the node that last answered as the active controller, -1 before any answer. */
    public int controllerId() {
        return controllerId;
    }

    @Override
    public MetadataImage image() {
        return localView != null ? localView.image() : image;
    }

    @Override
    public void addListener(MetadataListener listener) {
        if (localView != null) {
            localView.addListener(listener);
            return;
        }
        synchronized (this) {
            listeners.add(listener);
            listener.onImage(MetadataImage.EMPTY, image);
        }
    }

    /**
     * Completes once this node's image has reached {@code offset} (for example a change the controller just
     * committed for a client of this node), and its replicas have acted on it (see {@link #setPublishedOffset}), or
     * exceptionally after {@code timeoutMs}.
     */
    public CompletableFuture<Void> awaitOffset(long offset, long timeoutMs) {
        if (reportedOffset() >= offset) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> waiter = offsetWaiters.computeIfAbsent(offset, o -> new CompletableFuture<>());
        if (reportedOffset() >= offset) {
            completeWaiters(reportedOffset());
        } else if (localView == null) {
            fetchNow();
        }
        // Each caller times out on its own copy: callers of one offset share the entry, not each other's deadline.
        return waiter.copy().orTimeout(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private void completeWaiters(long reached) {
        for (Map.Entry<Long, CompletableFuture<Void>> e : offsetWaiters.headMap(reached, true).entrySet()) {
            e.getValue().complete(null);
            offsetWaiters.remove(e.getKey());
        }
    }

    private void fetchNow() {
        controller.send(ControllerRequest.newBuilder()
                        .setFetchMetadata(FetchMetadataRequest.newBuilder().setFromOffset(image.offset())).build())
                .whenComplete((response, error) -> {
                    if (error == null && response.hasMetadata()) {
                        applyUpdate(response.getMetadata());
                    }
                });
    }

    private void tick() {
        synchronized (this) {
            if (inFlight) {
                return;
            }
            inFlight = true;
        }
        CompletableFuture<ControllerResponse> sent;
        try {
            sent = brokerEpoch < 0 ? register() : heartbeat();
        } catch (RuntimeException e) {
            // A throw out of this task would cancel every later tick: the node would never register or heartbeat.
            log.warn("node={} could not send to the controller: {}", nodeId, e.toString());
            synchronized (this) {
                inFlight = false;
            }
            return;
        }
        // An answer that never comes (lost on the way) must not stop the heartbeats for good: the channel's own
        // deadlines are far shorter, this only ends a wait that nothing else would.
        sent.copy().orTimeout(MAX_IN_FLIGHT_MS, TimeUnit.MILLISECONDS).whenComplete((response, error) -> {
            synchronized (this) {
                inFlight = false;
            }
            if (error == null && response.getError() != ControllerErrorCode.NOT_CONTROLLER) {
                controllerId = response.getControllerId();
                lastContactNs = System.nanoTime();
            }
            if (error != null) {
                log.debug("node={} controller unreachable: {}", nodeId, error.toString());
            }
        });
    }

    private CompletableFuture<ControllerResponse> register() {
        RegisterBrokerRequest.Builder request = RegisterBrokerRequest.newBuilder()
                .setBrokerId(nodeId).setIncarnationId(incarnationId);
        endpoints.forEach(e -> request.addEndpoints(Endpoint.newBuilder().setName(e.name()).setHost(e.host())
                .setPort(e.port())));
        return controller.send(ControllerRequest.newBuilder().setRegisterBroker(request).build())
                .whenComplete((response, error) -> {
                    if (error == null && response.getError() == ControllerErrorCode.NONE) {
                        brokerEpoch = response.getRegisterBroker().getBrokerEpoch();
                        log.info("node={} registered with controller {} as incarnation {} epoch {}", nodeId,
                                response.getControllerId(), incarnationId, brokerEpoch);
                        thread.execute(this::tick);
                    }
                });
    }

    private CompletableFuture<ControllerResponse> heartbeat() {
        BrokerHeartbeatRequest request = BrokerHeartbeatRequest.newBuilder()
                .setBrokerId(nodeId).setBrokerEpoch(brokerEpoch).setMetadataOffset(reportedOffset()).build();
        return controller.send(ControllerRequest.newBuilder().setHeartbeat(request).build())
                .whenComplete((response, error) -> {
                    if (error != null || response.getError() != ControllerErrorCode.NONE) {
                        return;
                    }
                    if (response.getHeartbeat().getShouldRegister()) {
                        log.info("node={} controller {} does not know epoch {}: registering again", nodeId,
                                response.getControllerId(), brokerEpoch);
                        brokerEpoch = -1;
                        return;
                    }
                    fenced = response.getHeartbeat().getFenced();
                    if (response.getHeartbeat().hasMetadata()) {
                        applyUpdate(response.getHeartbeat().getMetadata());
                    }
                    if (!response.getHeartbeat().getFenced() && !unfenced.isDone()) {
                        log.info("node={} is unfenced", nodeId);
                        unfenced.complete(null);
                    }
                });
    }

    /** Applies what the controller sent; a voter's own quorum state is authoritative and ignores it. */
    private synchronized void applyUpdate(MetadataUpdate update) {
        if (localView != null) {
            return;
        }
        MetadataImage previous = image;
        MetadataImage next = previous;
        if (update.hasSnapshot()) {
            if (update.getSnapshot().getOffset() > previous.offset()) {
                next = MetadataImage.fromSnapshot(update.getSnapshot());
            }
        } else {
            for (OffsetBatch batch : update.getDeltas().getBatchesList()) {
                if (batch.getOffset() <= next.offset()) {
                    continue;
                }
                for (MetadataRecord record : batch.getBatch().getRecordsList()) {
                    next = next.apply(record, batch.getOffset());
                }
            }
        }
        if (next == previous) {
            return;
        }
        image = next;
        for (MetadataListener listener : listeners) {
            listener.onImage(previous, next);
        }
        completeWaiters(next.offset());
    }

    @Override
    public void close() {
        thread.shutdownNow();
        offsetWaiters.values().forEach(f -> f.cancel(false));
    }
}
