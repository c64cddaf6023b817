package io.tributary.metadata;

import io.tributary.proto.metadata.AllocateProducerIdsResponse;
import io.tributary.proto.metadata.AlterPartitionRequest;
import io.tributary.proto.metadata.BrokerHeartbeatRequest;
import io.tributary.proto.metadata.BrokerHeartbeatResponse;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.CreateTopicRequest;
import io.tributary.proto.metadata.CreateTopicResponse;
import io.tributary.proto.metadata.MetadataDeltas;
import io.tributary.proto.metadata.MetadataUpdate;
import io.tributary.proto.metadata.RegisterBrokerRequest;
import io.tributary.proto.metadata.RegisterBrokerResponse;
import java.io.Closeable;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active controller: the single writer of metadata. Each request is decided by {@link ControllerDecisions}
 * against the latest image and its records committed through the {@link MetadataStore}, one request at a time on
 * the controller thread, so that each decision sees the effect of the one before. It also tracks broker liveness:
 * a broker silent for the session timeout is fenced (it leaves every ISR; the partitions it led get new leaders
 * from their ISR), and a fenced broker that heartbeats with its current epoch, caught up, is unfenced.
 *
 * <p>Lifecycle: created on every voter (on a single node: on the node); active only between {@link #activate}
 * (Ratis' leader-ready) and {@link #deactivate}; inactive, it answers NOT_CONTROLLER. On activation every
 * registered broker gets a full session to reach it, so a controller fail-over fences no healthy broker.
 *
 * <p>Threads: {@link #handle} may be called from any thread; all state is touched on the controller thread.
 */
public final class Controller implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(Controller.class);

    private final int nodeId;
    private final MetadataStore store;
    private final Supplier<UUID> topicIds;
    private final LongSupplier clockMs;
    private final LongFunction<MetadataUpdate> updates;
    private final BrokerHeartbeatManager heartbeats;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "controller");
        t.setDaemon(true);
        return t;
    });
    /** Written on the controller thread only; volatile so that {@link #isActive} may read it anywhere. */
    private volatile boolean active;
    private volatile BooleanSupplier leadershipCheck = () -> true;

    /**
     * @param updates what a broker at a given metadata offset lacks (deltas or a snapshot), for heartbeat answers
     */
    public Controller(int nodeId, MetadataStore store, Supplier<UUID> topicIds, LongSupplier clockMs,
            LongFunction<MetadataUpdate> updates, long sessionTimeoutMs) {
        this.nodeId = nodeId;
        this.store = store;
        this.topicIds = topicIds;
        this.clockMs = clockMs;
        this.updates = updates;
        this.heartbeats = new BrokerHeartbeatManager(sessionTimeoutMs);
        // Fence promptly once a session expires: the fail-over time is the session timeout plus this tick.
        long tickMs = Math.max(50, Math.min(250, sessionTimeoutMs / 10));
        thread.scheduleWithFixedDelay(this::fenceExpired, tickMs, tickMs, TimeUnit.MILLISECONDS);
    }

    /** A single node's controller, always active, with no liveness to track beyond its own heartbeats. */
    public Controller(int nodeId, MetadataStore store, Supplier<UUID> topicIds) {
        this(nodeId, store, topicIds, System::currentTimeMillis,
                offset -> MetadataUpdate.newBuilder().setSnapshot(store.image().toSnapshot()).build(), 3_000);
        activate();
    }

    /** Becomes the active controller (Ratis: on leader-ready). */
    public void activate() {
        thread.execute(() -> {
            // Even if this controller thought it was still active (a missed step-down), a new term starts over:
            // every broker gets a full session to reach it.
            active = true;
            MetadataImage image = store.image();
            heartbeats.activate(image, clockMs.getAsLong());
            log.info("node={} is the active controller at metadata offset {}", nodeId, image.offset());
            // Partitions left without a leader while no controller was active get one if an ISR member is live.
            commit(ControllerDecisions.electLeaders(image));
        });
    }

    /** Whether this controller is the active one now. */
    public boolean isActive() {
        return active;
    }

    /** Stops acting as controller (Ratis: leadership lost). */
    public void deactivate() {
        thread.execute(() -> {
            if (active) {
                log.info("node={} is no longer the active controller", nodeId);
            }
            active = false;
        });
    }

    /** Serves one broker request; NOT_CONTROLLER while inactive. */
    public CompletableFuture<ControllerResponse> handle(ControllerRequest request) {
        // A broker is alive when its request arrives, not when the controller thread gets to it: a slow commit
        // ahead of it in the queue must not make a healthy broker look silent.
        long receivedMs = clockMs.getAsLong();
        if (request.getRequestCase() == ControllerRequest.RequestCase.HEARTBEAT && active
                && !needsUnfence(request.getHeartbeat())) {
            // Most heartbeats decide nothing: answer them here, at arrival, so that a backlog of commits on the
            // controller thread never delays them into a fence storm (a broker sends its next heartbeat only
            // after this answer).
            return CompletableFuture.completedFuture(heartbeat(request.getHeartbeat(), receivedMs, false)
                    .setControllerId(nodeId).build());
        }
        return CompletableFuture.supplyAsync(() -> {
            if (!active) {
                return ControllerResponse.newBuilder().setError(ControllerErrorCode.NOT_CONTROLLER)
                        .setControllerId(-1).build();
            }
            ControllerResponse.Builder response = switch (request.getRequestCase()) {
                case REGISTER_BROKER -> register(request.getRegisterBroker(), receivedMs);
                case HEARTBEAT -> heartbeat(request.getHeartbeat(), receivedMs, true);
                case CREATE_TOPIC -> createTopic(request.getCreateTopic());
                case DELETE_TOPIC -> result(ControllerDecisions.deleteTopic(store.image(),
                        request.getDeleteTopic().getName()));
                case ALLOCATE_PRODUCER_IDS -> allocateProducerIds(request.getAllocateProducerIds().getBrokerId(),
                        request.getAllocateProducerIds().getSize());
                case ALTER_PARTITION -> alterPartition(request.getAlterPartition());
                case FETCH_METADATA -> ControllerResponse.newBuilder()
                        .setMetadata(updates.apply(request.getFetchMetadata().getFromOffset()));
                case REQUEST_NOT_SET -> ControllerResponse.newBuilder().setError(ControllerErrorCode.INVALID_REQUEST)
                        .setErrorMessage("empty controller request");
            };
            return response.setControllerId(nodeId).build();
        }, thread);
    }

    private ControllerResponse.Builder register(RegisterBrokerRequest r, long receivedMs) {
        List<BrokerRegistration.BrokerEndpoint> endpoints = r.getEndpointsList().stream()
                .map(e -> new BrokerRegistration.BrokerEndpoint(e.getName(), e.getHost(), e.getPort()))
                .toList();
        ControllerResult<Long> decision = ControllerDecisions.registerBrokerIncarnation(store.image(),
                r.getBrokerId(), r.getIncarnationId(), endpoints, r.getRack());
        ControllerResponse.Builder response = result(decision);
        if (response.getError() == ControllerErrorCode.NONE) {
            long epoch = store.image().brokers().get(r.getBrokerId()).brokerEpoch();
            heartbeats.touch(r.getBrokerId(), epoch, receivedMs);
            log.info("node={} registered broker {} incarnation {} with epoch {}", nodeId, r.getBrokerId(),
                    r.getIncarnationId(), epoch);
            response.setRegisterBroker(RegisterBrokerResponse.newBuilder().setBrokerEpoch(epoch));
        }
        return response;
    }

    /** Whether a heartbeat would unfence its broker (a commit, on the controller thread). */
    private boolean needsUnfence(BrokerHeartbeatRequest r) {
        BrokerRegistration broker = store.image().brokers().get(r.getBrokerId());
        return broker != null && broker.brokerEpoch() == r.getBrokerEpoch() && unfences(broker, r);
    }

    /** A fenced broker is unfenced by a heartbeat that shows it caught up with the metadata to its registration. */
    private static boolean unfences(BrokerRegistration broker, BrokerHeartbeatRequest r) {
        return broker.fenced() && r.getMetadataOffset() >= broker.brokerEpoch();
    }

    /**
     * A heartbeat: refreshes the session and answers with what the broker lacks. Runs on the controller thread when
     * it may unfence (a commit), on the arriving thread with {@code mayUnfence} false (it then commits nothing; a
     * broker due to be unfenced is unfenced by its next heartbeat).
     */
    private ControllerResponse.Builder heartbeat(BrokerHeartbeatRequest r, long receivedMs, boolean mayUnfence) {
        MetadataImage image = store.image();
        BrokerRegistration broker = image.brokers().get(r.getBrokerId());
        if (broker == null || broker.brokerEpoch() != r.getBrokerEpoch()) {
            return ControllerResponse.newBuilder().setHeartbeat(BrokerHeartbeatResponse.newBuilder()
                    .setFenced(true).setShouldRegister(true));
        }
        heartbeats.touch(r.getBrokerId(), r.getBrokerEpoch(), receivedMs);
        ControllerResponse.Builder response = ControllerResponse.newBuilder();
        if (mayUnfence && unfences(broker, r)) {
            ControllerResult<Void> unfence = ControllerDecisions.unfenceBrokerAndElect(image, r.getBrokerId());
            response = result(unfence);
            if (response.getError() == ControllerErrorCode.NONE) {
                log.info("node={} unfenced broker {}", nodeId, r.getBrokerId());
            }
            image = store.image();
        }
        MetadataUpdate update = r.getMetadataOffset() >= image.offset()
                ? MetadataUpdate.newBuilder().setDeltas(MetadataDeltas.newBuilder().setLastOffset(image.offset()))
                        .build()
                : updates.apply(r.getMetadataOffset());
        return response.setHeartbeat(BrokerHeartbeatResponse.newBuilder()
                .setFenced(image.brokers().get(r.getBrokerId()).fenced())
                .setMetadata(update));
    }

    private ControllerResponse.Builder createTopic(CreateTopicRequest r) {
        ControllerResult<TopicImage> decision = ControllerDecisions.createTopic(store.image(), r.getName(),
                r.getPartitions(), r.getReplicationFactor(), Map.copyOf(r.getConfigsMap()), topicIds.get());
        if (r.getValidateOnly() && !decision.failed()) {
            decision = ControllerResult.of(List.of(), decision.response());
        }
        ControllerResult<TopicImage> decided = decision;
        ControllerResponse.Builder response = result(decision);
        if (!decided.failed()) {
            TopicImage t = decided.response();
            response.setCreateTopic(CreateTopicResponse.newBuilder()
                    .setTopicId(Uuids.toProto(t.topicId()))
                    .setPartitions(t.partitions().size())
                    .setReplicationFactor(t.partitions().get(0).replicas().size()));
        }
        return response;
    }

    /** Commits a decision's records (if it succeeded) and turns it into a response with the commit offset. */
    private ControllerResponse.Builder alterPartition(AlterPartitionRequest r) {
        BrokerRegistration broker = store.image().brokers().get(r.getBrokerId());
        if (broker == null || broker.brokerEpoch() != r.getBrokerEpoch() || broker.fenced()) {
            return ControllerResponse.newBuilder().setError(ControllerErrorCode.STALE_BROKER_EPOCH)
                    .setErrorMessage("broker " + r.getBrokerId() + " epoch " + r.getBrokerEpoch() + " is not current");
        }
        ControllerResponse.Builder response = result(ControllerDecisions.alterPartition(store.image(),
                Uuids.fromProto(r.getTopicId()), r.getPartition(), r.getBrokerId(), r.getLeaderEpoch(),
                r.getPartitionEpoch(), r.getNewIsrList()));
        if (response.getError() == ControllerErrorCode.NONE) {
            log.info("node={} ISR of topic {} partition {} is now {}", nodeId, Uuids.fromProto(r.getTopicId()),
                    r.getPartition(), r.getNewIsrList());
        }
        return response;
    }

    private ControllerResponse.Builder allocateProducerIds(int brokerId, int size) {
        if (size <= 0 || size > 1_000_000) {
            return ControllerResponse.newBuilder().setError(ControllerErrorCode.INVALID_REQUEST)
                    .setErrorMessage("producer id block size must be in 1..1000000");
        }
        ControllerResult<Long> decision = ControllerDecisions.allocateProducerIds(store.image(), brokerId, size);
        return result(decision).setProducerIds(AllocateProducerIdsResponse.newBuilder()
                .setFirstProducerId(decision.response()).setSize(size));
    }

    private ControllerResponse.Builder result(ControllerResult<?> decision) {
        if (decision.failed()) {
            return ControllerResponse.newBuilder().setError(toCode(decision.error()))
                    .setErrorMessage(decision.message() == null ? "" : decision.message());
        }
        long offset = commit(decision);
        return ControllerResponse.newBuilder().setError(ControllerErrorCode.NONE).setMetadataOffset(offset);
    }

    private long commit(ControllerResult<?> decision) {
        if (decision.records().isEmpty()) {
            return store.image().offset();
        }
        return store.commit(decision.records()).join().offset();
    }

    /**
     * A check of this node's Raft leadership, asked before fencing: a controller that lost it (and missed the
     * notification) must not fence brokers that simply cannot reach it.
     */
    public void setLeadershipCheck(BooleanSupplier isLeader) {
        this.leadershipCheck = isLeader;
    }

    private void fenceExpired() {
        if (!active) {
            return;
        }
        if (!leadershipCheck.getAsBoolean()) {
            log.info("node={} is no longer the metadata quorum leader: no longer the active controller", nodeId);
            active = false;
            return;
        }
        try {
            MetadataImage image = store.image();
            List<Integer> expired = heartbeats.expired(image, clockMs.getAsLong());
            if (!expired.isEmpty()) {
                log.info("node={} fencing brokers {}: no heartbeat for the session timeout", nodeId, expired);
                commit(ControllerDecisions.fenceBrokers(image, expired));
            }
        } catch (RuntimeException e) {
            log.warn("node={} could not fence expired brokers; retrying next tick", nodeId, e);
        }
    }

    static ControllerErrorCode toCode(ControllerError error) {
        return switch (error) {
            case NONE -> ControllerErrorCode.NONE;
            case TOPIC_ALREADY_EXISTS -> ControllerErrorCode.TOPIC_ALREADY_EXISTS;
            case INVALID_TOPIC_EXCEPTION -> ControllerErrorCode.INVALID_TOPIC_EXCEPTION;
            case INVALID_PARTITIONS -> ControllerErrorCode.INVALID_PARTITIONS;
            case INVALID_REPLICATION_FACTOR -> ControllerErrorCode.INVALID_REPLICATION_FACTOR;
            case UNKNOWN_TOPIC_OR_PARTITION -> ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
            case INVALID_CONFIG -> ControllerErrorCode.INVALID_CONFIG;
            case INVALID_REQUEST -> ControllerErrorCode.INVALID_REQUEST;
            case FENCED_LEADER_EPOCH -> ControllerErrorCode.FENCED_LEADER_EPOCH;
            case INVALID_UPDATE_VERSION -> ControllerErrorCode.INVALID_UPDATE_VERSION;
            case INELIGIBLE_REPLICA -> ControllerErrorCode.INELIGIBLE_REPLICA;
        };
    }

    @Override
    public void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Test helper kept from the single-node API: registers and unfences a broker through requests. */
    CompletableFuture<ControllerResponse> registerAndUnfence(int brokerId, String incarnationId,
            List<BrokerRegistration.BrokerEndpoint> endpoints, String rack) {
        RegisterBrokerRequest.Builder register = RegisterBrokerRequest.newBuilder().setBrokerId(brokerId)
                .setIncarnationId(incarnationId).setRack(rack == null ? "" : rack);
        endpoints.forEach(e -> register.addEndpoints(io.tributary.proto.metadata.Endpoint.newBuilder()
                .setName(e.name()).setHost(e.host()).setPort(e.port())));
        return handle(ControllerRequest.newBuilder().setRegisterBroker(register).build())
                .thenCompose(registered -> handle(ControllerRequest.newBuilder().setHeartbeat(
                        BrokerHeartbeatRequest.newBuilder().setBrokerId(brokerId)
                                .setBrokerEpoch(registered.getRegisterBroker().getBrokerEpoch())
                                .setMetadataOffset(store.image().offset())).build()));
    }
}
