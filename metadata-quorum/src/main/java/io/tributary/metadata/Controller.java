package io.tributary.metadata;

import io.tributary.proto.metadata.AclResult;
import io.tributary.proto.metadata.AllocateProducerIdsResponse;
import io.tributary.proto.metadata.AlterScramCredentialsResponse;
import io.tributary.proto.metadata.CreateAclsResponse;
import io.tributary.proto.metadata.DeleteAclsResponse;
import io.tributary.proto.metadata.DeletedAcls;
import io.tributary.proto.metadata.UserResult;
import io.tributary.proto.metadata.AlterPartitionReassignmentsRequest;
import io.tributary.proto.metadata.AlterPartitionReassignmentsResponse;
import io.tributary.proto.metadata.AlterPartitionRequest;
import io.tributary.proto.metadata.ListPartitionReassignmentsRequest;
import io.tributary.proto.metadata.ListPartitionReassignmentsResponse;
import io.tributary.proto.metadata.OngoingReassignment;
import io.tributary.proto.metadata.PartitionReassignmentResult;
import io.tributary.proto.metadata.BrokerHeartbeatRequest;
import io.tributary.proto.metadata.BrokerHeartbeatResponse;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.CreatePartitionsRequest;
import io.tributary.proto.metadata.CreateTopicRequest;
import io.tributary.proto.metadata.CreateTopicResponse;
import io.tributary.proto.metadata.ElectLeadersRequest;
import io.tributary.proto.metadata.ElectLeadersResponse;
import io.tributary.proto.metadata.ElectionResult;
import io.tributary.proto.metadata.MetadataDeltas;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.MetadataUpdate;
import io.tributary.proto.metadata.RegisterBrokerRequest;
import io.tributary.proto.metadata.RegisterBrokerResponse;
import java.io.Closeable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active controller: the single writer of metadata. Requests queue on the controller thread, which decides
 * them in order with {@link ControllerDecisions}, each against the image as the decisions before it leave it, and
 * commits the records of everything queued as one batch through the {@link MetadataStore} (group commit): a burst
 * of requests (100 topics in one CreateTopics, an ISR change per partition after a fail-over) costs one commit, not
 * one per request. The thread never waits for a commit: requests arriving meanwhile queue for the next batch.
 * Answers are built from the image once the batch is applied, never from the decision alone. Batches carry the Raft
 * term of the controller's activation; the state machine refuses a batch committed in another term, so a deposed
 * controller's decisions never apply (its callers get NOT_CONTROLLER and ask again).
 *
 * <p>It also tracks broker liveness: a broker silent for the session timeout is fenced (it leaves every ISR; the
 * partitions it led get new leaders from their ISR), and a fenced broker that heartbeats with its current epoch,
 * caught up, is unfenced. Fencing goes ahead of queued requests. Most heartbeats are answered at arrival.
 *
 * <p>On the same tick it starts elections of its own ({@link LeaderElectionDecisions}, settings in
 * {@link LeaderElectionConfig}): the preferred-leader rebalance every {@code leader.imbalance.check.interval.seconds}
 * by its clock, and unclean elections where a topic allows them whenever the image changed. ElectLeaders requests
 * ask for preferred or unclean elections explicitly.
 *
 * <p>Retries of one request (the same non-empty {@code request_id}) get the same answer: the first one's, while it
 * is remembered (the last {@link #REMEMBERED_REQUESTS} requests), instead of running twice.
 *
 * <p>Lifecycle: created on every voter (on a single node: on the node); active only between {@link #activate}
 * (Ratis' leader-ready) and {@link #deactivate}; inactive, it answers NOT_CONTROLLER. On activation every
 * registered broker gets a full session to reach it, so a controller fail-over fences no healthy broker.
 *
 * <p>Threads: {@link #handle} may be called from any thread; all state is touched on the controller thread.
 */
public final class Controller implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(Controller.class);
    /** Broker requests waiting to be decided (queued for the thread or for a batch); more are refused. */
    static final int MAX_QUEUED_REQUESTS = 10_000;
    /** A batch takes requests until it holds this many records (a single larger decision goes alone). */
    static final int MAX_BATCH_RECORDS = 2_000;
    static final int REMEMBERED_REQUESTS = 10_000;

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
    /** Controller thread only. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final AtomicInteger queued = new AtomicInteger();
    /** Controller thread only: whether a batch is being committed. */
    private boolean committing;
    /** Answers by request id, for retries; guarded by itself. */
    private final Map<String, CompletableFuture<ControllerResponse>> remembered =
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, CompletableFuture<ControllerResponse>> eldest) {
                    return size() > REMEMBERED_REQUESTS;
                }
            };
    /** Written on the controller thread only; volatile so that {@link #isActive} may read it anywhere. */
    private volatile boolean active;
    private volatile BooleanSupplier leadershipCheck = () -> true;
    /** The node's topic config rules, for config changes (set before activation). */
    private volatile TopicConfigPolicy topicConfigPolicy = TopicConfigPolicy.ACCEPT_ALL;
    /** The node's settings for elections the controller starts on its own (set before activation). */
    private volatile LeaderElectionConfig electionConfig = LeaderElectionConfig.DEFAULTS;
    /** Controller thread only: a fencing decision is queued or committing (one at a time). */
    private boolean fencing;
    /** Controller thread only: an automatic election (rebalance or unclean) is queued or committing. */
    private boolean autoElecting;
    /** Controller thread only: when the next automatic preferred-leader rebalance is due. */
    private long nextRebalanceMs;
    /** Controller thread only: the image offset the last unclean-election sweep looked at. */
    private long uncleanSweptOffset = -1;
    /** The Raft term of this activation; batches carry it. Controller thread only. */
    private long term;

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
        thread.scheduleWithFixedDelay(() -> {
            fenceExpired();
            electAutomatically();
        }, tickMs, tickMs, TimeUnit.MILLISECONDS);
    }

    /** A single node's controller, always active, with no liveness to track beyond its own heartbeats. */
    public Controller(int nodeId, MetadataStore store, Supplier<UUID> topicIds) {
        this(nodeId, store, topicIds, System::currentTimeMillis,
                offset -> MetadataUpdate.newBuilder().setSnapshot(store.image().toSnapshot()).build(), 3_000);
        activate(0); // no terms: its batches are not fenced
    }

    /** The rules config changes are validated with; call before the controller may be activated. */
    public void setTopicConfigPolicy(TopicConfigPolicy policy) {
        this.topicConfigPolicy = java.util.Objects.requireNonNull(policy);
    }

    /**
     * The settings for automatic elections ({@code auto.leader.rebalance.enable}, {@code unclean.leader.election.enable}
     * ...); call before the controller may be activated.
     */
    public void setElectionConfig(LeaderElectionConfig config) {
        this.electionConfig = java.util.Objects.requireNonNull(config);
    }

    /**
     * Becomes the active controller for Raft term {@code leaderTerm} (Ratis: on leader-ready, with the term read
     * there, so that a step-down before the controller thread gets to it cannot lend it the next term).
     */
    public void activate(long leaderTerm) {
        thread.execute(() -> {
            // Even if this controller thought it was still active (a missed step-down), a new term starts over:
            // every broker gets a full session to reach it.
            active = true;
            term = leaderTerm;
            MetadataImage image = store.image();
            heartbeats.activate(image, clockMs.getAsLong());
            nextRebalanceMs = clockMs.getAsLong() + electionConfig.leaderImbalanceCheckIntervalMs();
            uncleanSweptOffset = -1;
            log.info("node={} is the active controller at metadata offset {} in term {}", nodeId, image.offset(),
                    term);
            // Partitions left without a leader while no controller was active get one if an ISR member is live.
            enqueue(new Pending(null, clockMs.getAsLong(), new CompletableFuture<>(),
                    working -> decided(ControllerDecisions.electLeaders(working,
                            uncleanDefault(working)), applied -> ok(applied))), true);
        });
    }

    /**
     * {@code unclean.leader.election.enable} for topics that do not set it: the cluster-wide dynamic broker config
     * (KIP-226) when set, else this node's own config.
     */
    private boolean uncleanDefault(MetadataImage image) {
        String dynamic = image.brokerConfigs(DynamicBrokerConfigs.CLUSTER_DEFAULT)
                .get(LeaderElectionDecisions.UNCLEAN_LEADER_ELECTION_ENABLE);
        return dynamic != null ? Boolean.parseBoolean(dynamic.trim()) : electionConfig.uncleanLeaderElectionEnable();
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
            failQueued();
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
            return CompletableFuture.completedFuture(heartbeatAnswer(request.getHeartbeat(), store.image(),
                    receivedMs).setControllerId(nodeId).build());
        }
        if (request.getRequestCase() == ControllerRequest.RequestCase.FETCH_METADATA && active) {
            return CompletableFuture.completedFuture(ControllerResponse.newBuilder()
                    .setMetadata(updates.apply(request.getFetchMetadata().getFromOffset()))
                    .setControllerId(nodeId).build());
        }
        String requestId = request.getRequestId();
        CompletableFuture<ControllerResponse> answer = new CompletableFuture<>();
        if (!requestId.isEmpty()) {
            synchronized (remembered) {
                CompletableFuture<ControllerResponse> earlier = remembered.putIfAbsent(requestId, answer);
                if (earlier != null) {
                    return earlier;
                }
            }
            // A failed attempt (no controller, a refused batch) is not remembered: the retry runs again.
            answer.whenComplete((response, error) -> {
                if (error != null || response.getError() == ControllerErrorCode.NOT_CONTROLLER) {
                    synchronized (remembered) {
                        remembered.remove(requestId, answer);
                    }
                }
            });
        }
        if (queued.incrementAndGet() > MAX_QUEUED_REQUESTS) {
            queued.decrementAndGet();
            answer.complete(notController("controller busy: " + MAX_QUEUED_REQUESTS + " requests queued"));
            return answer;
        }
        Pending pending = new Pending(request, receivedMs, answer, working -> decide(request, receivedMs, working));
        try {
            // counted until decided or refused: waiting behind a slow commit counts too
            thread.execute(() -> enqueue(pending, false));
        } catch (RejectedExecutionException closed) {
            queued.decrementAndGet();
            answer.complete(notController("controller closed"));
        }
        return answer;
    }

    /** A queued request and how to decide it against the image left by the decisions before it. */
    private record Pending(ControllerRequest request, long receivedMs, CompletableFuture<ControllerResponse> answer,
            Function<MetadataImage, Decision> decide) {
    }

    /** A decision's records, and how to answer once they are applied (or at once, if it has none). */
    private record Decision(List<MetadataRecord> records, Function<MetadataImage, ControllerResponse.Builder> answer) {
    }

    private static Decision decided(ControllerResult<?> result, Function<MetadataImage, ControllerResponse.Builder>
            answer) {
        if (result.failed()) {
            ControllerResponse.Builder error = ControllerResponse.newBuilder().setError(toCode(result.error()))
                    .setErrorMessage(result.message() == null ? "" : result.message());
            return new Decision(List.of(), applied -> error);
        }
        return new Decision(result.records(), answer);
    }

    private static ControllerResponse.Builder ok(MetadataImage applied) {
        return ControllerResponse.newBuilder().setError(ControllerErrorCode.NONE).setMetadataOffset(applied.offset());
    }

    private ControllerResponse notController(String message) {
        return ControllerResponse.newBuilder().setError(ControllerErrorCode.NOT_CONTROLLER).setErrorMessage(message)
                .setControllerId(-1).build();
    }

    /** Controller thread: queues a request (fencing goes first) and starts a batch if none is committing. */
    private void enqueue(Pending pending, boolean first) {
        if (!active) {
            left(pending);
            pending.answer().complete(notController("not the active controller"));
            return;
        }
        if (first) {
            queue.addFirst(pending);
        } else {
            queue.addLast(pending);
        }
        commitNextBatch();
    }

    /**
     * Controller thread: decides the queued requests in order against a working image (the applied image plus the
     * decisions before each), then commits all their records as one batch. Requests that decide nothing are
     * answered at once.
     */
    private void commitNextBatch() {
        if (committing || queue.isEmpty() || !active) {
            return;
        }
        MetadataImage base = store.image();
        MetadataImage working = base;
        List<MetadataRecord> records = new ArrayList<>();
        List<Pending> waiting = new ArrayList<>();
        List<Decision> decisions = new ArrayList<>();
        while (!queue.isEmpty() && (records.isEmpty() || records.size() + estimate(queue.peekFirst())
                <= MAX_BATCH_RECORDS)) {
            Pending pending = queue.pollFirst();
            left(pending);
            Decision decision;
            try {
                decision = pending.decide().apply(working);
            } catch (RuntimeException e) {
                log.error("node={} failed to decide {}", nodeId, pending.request(), e);
                pending.answer().complete(ControllerResponse.newBuilder().setError(ControllerErrorCode.INVALID_REQUEST)
                        .setErrorMessage("controller error: " + e).setControllerId(nodeId).build());
                continue;
            }
            if (decision.records().isEmpty() && records.isEmpty()) {
                complete(pending, decision, base);
                continue;
            }
            // A decision without records after others in this batch may rest on them (a topic "already exists"
            // because an earlier request creates it): it is answered with the batch, from the applied image.
            // Every record of a batch gets the batch's offset once committed; the working image uses the next free
            // offset, which only decisions within this batch can see.
            for (MetadataRecord record : decision.records()) {
                working = working.apply(record, base.offset() + 1);
            }
            records.addAll(decision.records());
            waiting.add(pending);
            decisions.add(decision);
        }
        if (records.isEmpty()) {
            return;
        }
        committing = true;
        long batchTerm = term;
        CompletableFuture<MetadataImage> commit;
        try {
            commit = store.commit(records, batchTerm);
        } catch (RuntimeException e) {
            commit = CompletableFuture.failedFuture(e);
        }
        commit.whenComplete((applied, error) -> thread.execute(() -> {
            committing = false;
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause()
                    : error;
            if (cause != null) {
                log.info("node={} metadata commit of {} requests failed: {}", nodeId, waiting.size(),
                        cause.toString());
            }
            for (int i = 0; i < waiting.size(); i++) {
                Pending pending = waiting.get(i);
                if (cause != null) {
                    pending.answer().complete(notController("metadata commit failed: " + cause));
                } else {
                    complete(pending, decisions.get(i), applied);
                }
            }
            // Only a batch of the term this controller still serves ends it: a batch of an earlier term may come
            // back fenced after this voter led again and the controller was activated in the new term.
            if (cause instanceof FencedBatchException && batchTerm == term) {
                log.info("node={} lost the term {} it was activated in: no longer the active controller", nodeId,
                        term);
                active = false;
                failQueued();
            }
            commitNextBatch();
        }));
    }

    /** How many records a queued request may write, to keep batches bounded (a guess; decisions are exact). */
    private static int estimate(Pending pending) {
        ControllerRequest r = pending.request();
        if (r != null && r.hasCreateTopic()) {
            return Math.max(1, r.getCreateTopic().getPartitions());
        }
        if (r != null && r.hasCreateAcls()) {
            return Math.max(1, r.getCreateAcls().getAclsCount());
        }
        if (r != null && r.hasElectLeaders()) {
            return r.getElectLeaders().getAllPartitions() ? MAX_BATCH_RECORDS
                    : Math.max(1, r.getElectLeaders().getTopicsList().stream().mapToInt(t -> t.getPartitionsCount())
                            .sum());
        }
        if (r != null && r.hasAlterPartitionReassignments()) {
            return Math.max(1, r.getAlterPartitionReassignments().getPartitionsCount());
        }
        return 2;
    }

    private void complete(Pending pending, Decision decision, MetadataImage applied) {
        try {
            pending.answer().complete(decision.answer().apply(applied).setControllerId(nodeId).build());
        } catch (RuntimeException e) {
            log.error("node={} failed to answer {}", nodeId, pending.request(), e);
            pending.answer().complete(notController("controller error: " + e));
        }
    }

    /** A broker request leaves the bound ({@link #MAX_QUEUED_REQUESTS}); internal ones (fencing) never counted. */
    private void left(Pending pending) {
        if (pending.request() != null) {
            queued.decrementAndGet();
        }
    }

    /** Broker requests waiting to be decided now. */
    public int queuedRequests() {
        return queued.get();
    }

    private void failQueued() {
        while (!queue.isEmpty()) {
            Pending pending = queue.pollFirst();
            left(pending);
            pending.answer().complete(notController("not the active controller"));
        }
    }

    /** Decides one broker request against {@code working}; controller thread. */
    private Decision decide(ControllerRequest request, long receivedMs, MetadataImage working) {
        return switch (request.getRequestCase()) {
            case REGISTER_BROKER -> register(request.getRegisterBroker(), receivedMs, working);
            case HEARTBEAT -> heartbeat(request.getHeartbeat(), receivedMs, working);
            case CREATE_TOPIC -> createTopic(request.getCreateTopic(), working);
            case DELETE_TOPIC -> decided(ControllerDecisions.deleteTopic(working,
                    request.getDeleteTopic().getName()), Controller::ok);
            case ALLOCATE_PRODUCER_IDS -> allocateProducerIds(request.getAllocateProducerIds().getBrokerId(),
                    request.getAllocateProducerIds().getSize(), working);
            case ALTER_PARTITION -> alterPartition(request.getAlterPartition(), working);
            case CREATE_PARTITIONS -> createPartitions(request.getCreatePartitions(), working);
            case ELECT_LEADERS -> electLeaders(request.getElectLeaders(), working);
            case ALTER_PARTITION_REASSIGNMENTS -> alterReassignments(request.getAlterPartitionReassignments(),
                    working);
            case LIST_PARTITION_REASSIGNMENTS -> listReassignments(request.getListPartitionReassignments());
            case UNREGISTER_BROKER -> {
                int brokerId = request.getUnregisterBroker().getBrokerId();
                yield decided(ControllerDecisions.unregisterBroker(working, brokerId), applied -> {
                    log.info("node={} unregistered broker {}", nodeId, brokerId);
                    return ok(applied);
                });
            }
            case FETCH_METADATA -> new Decision(List.of(), applied -> ControllerResponse.newBuilder()
                    .setMetadata(updates.apply(request.getFetchMetadata().getFromOffset())));
            case ALTER_SCRAM_CREDENTIALS -> {
                ControllerResult<List<UserResult>> d = SecurityDecisions.alterScramCredentials(working,
                        request.getAlterScramCredentials().getUpsertionsList(),
                        request.getAlterScramCredentials().getDeletionsList());
                yield decided(d, applied -> ok(applied).setAlterScramCredentials(
                        AlterScramCredentialsResponse.newBuilder().addAllResults(d.response())));
            }
            case CREATE_ACLS -> {
                ControllerResult<List<AclResult>> d = SecurityDecisions.createAcls(working,
                        request.getCreateAcls().getAclsList(), topicIds);
                yield decided(d, applied -> ok(applied).setCreateAcls(
                        CreateAclsResponse.newBuilder().addAllResults(d.response())));
            }
            case DELETE_ACLS -> {
                ControllerResult<List<DeletedAcls>> d = SecurityDecisions.deleteAcls(working,
                        request.getDeleteAcls().getFiltersList());
                yield decided(d, applied -> ok(applied).setDeleteAcls(
                        DeleteAclsResponse.newBuilder().addAllResults(d.response())));
            }
            case ALTER_TOPIC_CONFIGS -> decided(ConfigDecisions.alterTopicConfigs(working,
                    request.getAlterTopicConfigs(), topicConfigPolicy), Controller::ok);
            case DESCRIBE_QUORUM -> new Decision(List.of(), applied -> ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.INVALID_REQUEST)
                    .setErrorMessage("DescribeQuorum is answered by the quorum leader's state machine"));
            case REQUEST_NOT_SET -> new Decision(List.of(), applied -> ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.INVALID_REQUEST).setErrorMessage("empty controller request"));
        };
    }

    private Decision register(RegisterBrokerRequest r, long receivedMs, MetadataImage working) {
        List<BrokerRegistration.BrokerEndpoint> endpoints = r.getEndpointsList().stream()
                .map(e -> new BrokerRegistration.BrokerEndpoint(e.getName(), e.getHost(), e.getPort()))
                .toList();
        ControllerResult<Long> decision = ControllerDecisions.registerBrokerIncarnation(working, r.getBrokerId(),
                r.getIncarnationId(), endpoints, r.getRack(), uncleanDefault(working));
        return decided(decision, applied -> {
            BrokerRegistration broker = applied.brokers().get(r.getBrokerId());
            if (broker == null || !broker.incarnationId().equals(r.getIncarnationId())) {
                return ControllerResponse.newBuilder().setError(ControllerErrorCode.NOT_CONTROLLER)
                        .setErrorMessage("registration of broker " + r.getBrokerId() + " was not applied");
            }
            heartbeats.touch(r.getBrokerId(), broker.brokerEpoch(), receivedMs);
            log.info("node={} registered broker {} incarnation {} with epoch {}", nodeId, r.getBrokerId(),
                    r.getIncarnationId(), broker.brokerEpoch());
            return ok(applied).setRegisterBroker(RegisterBrokerResponse.newBuilder()
                    .setBrokerEpoch(broker.brokerEpoch()));
        });
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

    /** A heartbeat on the controller thread: one that may unfence its broker. */
    private Decision heartbeat(BrokerHeartbeatRequest r, long receivedMs, MetadataImage working) {
        BrokerRegistration broker = working.brokers().get(r.getBrokerId());
        if (broker == null || broker.brokerEpoch() != r.getBrokerEpoch() || !unfences(broker, r)) {
            return new Decision(List.of(), applied -> heartbeatAnswer(r, applied, receivedMs));
        }
        heartbeats.touch(r.getBrokerId(), r.getBrokerEpoch(), receivedMs);
        return decided(ControllerDecisions.unfenceBrokerAndElect(working, r.getBrokerId(),
                uncleanDefault(working)), applied -> {
            log.info("node={} unfenced broker {}", nodeId, r.getBrokerId());
            return heartbeatAnswer(r, applied, receivedMs).setMetadataOffset(applied.offset());
        });
    }

    /** Refreshes a heartbeat's session and answers with what the broker lacks, from {@code image}. */
    private ControllerResponse.Builder heartbeatAnswer(BrokerHeartbeatRequest r, MetadataImage image,
            long receivedMs) {
        BrokerRegistration broker = image.brokers().get(r.getBrokerId());
        if (broker == null || broker.brokerEpoch() != r.getBrokerEpoch()) {
            return ControllerResponse.newBuilder().setHeartbeat(BrokerHeartbeatResponse.newBuilder()
                    .setFenced(true).setShouldRegister(true));
        }
        heartbeats.touch(r.getBrokerId(), r.getBrokerEpoch(), receivedMs);
        MetadataUpdate update = r.getMetadataOffset() >= image.offset()
                ? MetadataUpdate.newBuilder().setDeltas(MetadataDeltas.newBuilder().setLastOffset(image.offset()))
                        .build()
                : updates.apply(r.getMetadataOffset());
        return ControllerResponse.newBuilder().setHeartbeat(BrokerHeartbeatResponse.newBuilder()
                .setFenced(broker.fenced())
                .setMetadata(update));
    }

    private Decision createTopic(CreateTopicRequest r, MetadataImage working) {
        ControllerResult<TopicImage> decision = r.getAssignmentsCount() == 0
                ? ControllerDecisions.createTopic(working, r.getName(), r.getPartitions(), r.getReplicationFactor(),
                        Map.copyOf(r.getConfigsMap()), topicIds.get())
                : ControllerDecisions.createTopicWithAssignments(working, r.getName(), r.getPartitions(),
                        r.getReplicationFactor(), r.getAssignmentsList().stream()
                                .map(a -> new ControllerDecisions.ManualAssignment(a.getPartition(),
                                        a.getBrokerIdsList()))
                                .toList(), Map.copyOf(r.getConfigsMap()), topicIds.get());
        if (decision.failed()) {
            return decided(decision, null);
        }
        TopicImage decided = decision.response();
        Function<TopicImage, ControllerResponse.Builder> answer = t -> ControllerResponse.newBuilder()
                .setError(ControllerErrorCode.NONE)
                .setCreateTopic(CreateTopicResponse.newBuilder()
                        .setTopicId(Uuids.toProto(t.topicId()))
                        .setPartitions(t.partitions().size())
                        .setReplicationFactor(t.partitions().get(0).replicas().size()));
        if (r.getValidateOnly()) {
            return new Decision(List.of(), applied -> answer.apply(decided).setMetadataOffset(applied.offset()));
        }
        return new Decision(decision.records(), applied -> {
            TopicImage created = applied.topic(decided.topicId());
            if (created == null) {
                return ControllerResponse.newBuilder().setError(ControllerErrorCode.NOT_CONTROLLER)
                        .setErrorMessage("topic " + r.getName() + " was not created");
            }
            return answer.apply(created).setMetadataOffset(applied.offset());
        });
    }

    /**
     * CreatePartitions: validated and placed by {@link PartitionCountDecisions}; answered once the image shows the
     * topic with the requested count (validate_only: nothing committed, the answer at once).
     */
    private Decision createPartitions(CreatePartitionsRequest r, MetadataImage working) {
        List<List<Integer>> assignments = r.getAssignmentsList().stream()
                .map(a -> List.copyOf(a.getBrokerIdsList())).toList();
        ControllerResult<List<PartitionImage>> decision = PartitionCountDecisions.createPartitions(working,
                r.getName(), r.getCount(), assignments);
        if (decision.failed() || r.getValidateOnly()) {
            return new Decision(List.of(), decided(decision, Controller::ok).answer());
        }
        UUID topicId = working.topic(r.getName()).topicId();
        return decided(decision, applied -> {
            TopicImage grown = applied.topic(topicId);
            if (grown == null || grown.partitions().size() != r.getCount()) {
                return ControllerResponse.newBuilder().setError(ControllerErrorCode.NOT_CONTROLLER)
                        .setErrorMessage("partitions of topic " + r.getName() + " were not created");
            }
            log.info("node={} topic {} now has {} partitions: new {}", nodeId, r.getName(), r.getCount(),
                    decision.response());
            return ok(applied);
        });
    }

    /** AlterPartitionReassignments: decided per partition by {@link ReassignmentDecisions}, answered per partition. */
    private Decision alterReassignments(AlterPartitionReassignmentsRequest r, MetadataImage working) {
        List<ReassignmentDecisions.Target> targets = r.getPartitionsList().stream()
                .map(t -> new ReassignmentDecisions.Target(t.getTopic(), t.getPartition(),
                        t.getHasTarget() ? t.getReplicasList() : null))
                .toList();
        ControllerResult<List<ReassignmentDecisions.Result>> d = ReassignmentDecisions.alter(working, targets,
                !r.getDisallowReplicationFactorChange());
        return decided(d, applied -> {
            AlterPartitionReassignmentsResponse.Builder answer = AlterPartitionReassignmentsResponse.newBuilder();
            for (ReassignmentDecisions.Result result : d.response()) {
                answer.addResults(PartitionReassignmentResult.newBuilder().setTopic(result.topic())
                        .setPartition(result.partition()).setError(toCode(result.error()))
                        .setErrorMessage(result.message() == null ? "" : result.message()));
                if (result.error() == ControllerError.NONE) {
                    log.info("node={} reassignment of {}-{} to {}: now {}", nodeId, result.topic(),
                            result.partition(), targets.stream().filter(t -> t.topic().equals(result.topic())
                                    && t.partition() == result.partition()).findFirst().map(t -> t.replicas())
                                    .orElse(null), describe(applied, result.topic(), result.partition()));
                }
            }
            return ok(applied).setAlterPartitionReassignments(answer);
        });
    }

    private static String describe(MetadataImage image, String topic, int partition) {
        TopicImage t = image.topic(topic);
        return t == null || t.partition(partition) == null ? "gone" : t.partition(partition).toString();
    }

    /** ListPartitionReassignments, answered from the applied image. */
    private Decision listReassignments(ListPartitionReassignmentsRequest r) {
        List<ReassignmentDecisions.Target> named = r.getPartitionsList().stream()
                .map(t -> new ReassignmentDecisions.Target(t.getTopic(), t.getPartition(), null)).toList();
        return new Decision(List.of(), applied -> {
            ListPartitionReassignmentsResponse.Builder answer = ListPartitionReassignmentsResponse.newBuilder();
            for (ReassignmentDecisions.Ongoing o : ReassignmentDecisions.list(applied, named, r.getAll())) {
                answer.addReassignments(OngoingReassignment.newBuilder().setTopic(o.topic())
                        .setPartition(o.partition().partition()).addAllReplicas(o.partition().replicas())
                        .addAllAddingReplicas(o.partition().addingReplicas())
                        .addAllRemovingReplicas(o.partition().removingReplicas()));
            }
            return ok(applied).setListPartitionReassignments(answer);
        });
    }

    private Decision alterPartition(AlterPartitionRequest r, MetadataImage working) {
        BrokerRegistration broker = working.brokers().get(r.getBrokerId());
        if (broker == null || broker.brokerEpoch() != r.getBrokerEpoch() || broker.fenced()) {
            return new Decision(List.of(), applied -> ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.STALE_BROKER_EPOCH)
                    .setErrorMessage("broker " + r.getBrokerId() + " epoch " + r.getBrokerEpoch()
                            + " is not current"));
        }
        UUID topicId = Uuids.fromProto(r.getTopicId());
        TopicImage topic = working.topic(topicId);
        PartitionImage before = topic == null ? null : topic.partition(r.getPartition());
        ControllerResult<PartitionImage> decision = ControllerDecisions.alterPartition(working, topicId,
                r.getPartition(), r.getBrokerId(), r.getLeaderEpoch(), r.getPartitionEpoch(), r.getNewIsrList());
        return decided(decision, applied -> {
            log.info("node={} ISR of topic {} partition {} is now {}", nodeId, topicId, r.getPartition(),
                    r.getNewIsrList());
            if (before != null && before.isReassigning() && !decision.response().isReassigning()) {
                log.info("node={} reassignment of {}-{} completed: replicas {}, ISR {}, leader {} in epoch {}",
                        nodeId, topic.name(), r.getPartition(), decision.response().replicas(),
                        decision.response().isr(), decision.response().leader(), decision.response().leaderEpoch());
            }
            return ok(applied);
        });
    }

    /** ElectLeaders: decided by {@link LeaderElectionDecisions}; every partition's result, once applied. */
    private Decision electLeaders(ElectLeadersRequest r, MetadataImage working) {
        Map<String, List<Integer>> partitions = null;
        if (!r.getAllPartitions()) {
            partitions = new LinkedHashMap<>();
            for (io.tributary.proto.metadata.ElectionTopic topic : r.getTopicsList()) {
                partitions.computeIfAbsent(topic.getTopic(), t -> new ArrayList<>()).addAll(topic.getPartitionsList());
            }
        }
        LeaderElectionDecisions.ElectionType type = LeaderElectionDecisions.ElectionType.fromCode(
                r.getElectionType());
        ControllerResult<List<LeaderElectionDecisions.PartitionResult>> decision =
                LeaderElectionDecisions.electLeaders(working, type, partitions);
        return decided(decision, applied -> {
            if (!decision.records().isEmpty()) {
                log.info("node={} {} election of {} leader(s)", nodeId, type, decision.records().size());
            }
            ElectLeadersResponse.Builder response = ElectLeadersResponse.newBuilder();
            for (LeaderElectionDecisions.PartitionResult result : decision.response()) {
                response.addResults(ElectionResult.newBuilder().setTopic(result.topic())
                        .setPartition(result.partition()).setError(toCode(result.error()))
                        .setErrorMessage(result.message() == null ? "" : result.message()));
            }
            return ok(applied).setElectLeaders(response);
        });
    }

    /**
     * Controller thread, on every tick: the elections the controller starts on its own. Every
     * {@code leader.imbalance.check.interval.seconds} (by the controller's clock, passed to nothing but this
     * schedule), a preferred-leader rebalance if {@code auto.leader.rebalance.enable}; and whenever the metadata
     * changed, unclean elections of offline partitions whose topic allows them. One at a time; each is decided again
     * against the working image when its turn in the queue comes.
     */
    private void electAutomatically() {
        if (!active || autoElecting) {
            return;
        }
        LeaderElectionConfig config = electionConfig;
        MetadataImage image = store.image();
        long nowMs = clockMs.getAsLong();
        if (config.autoLeaderRebalanceEnable() && nowMs >= nextRebalanceMs) {
            nextRebalanceMs = nowMs + config.leaderImbalanceCheckIntervalMs();
            int percentage = config.leaderImbalancePerBrokerPercentage();
            if (!LeaderElectionDecisions.rebalanceLeaders(image, percentage).records().isEmpty()) {
                autoElect("preferred-leader rebalance",
                        working -> LeaderElectionDecisions.rebalanceLeaders(working, percentage));
                return;
            }
        }
        if (image.offset() != uncleanSweptOffset) {
            uncleanSweptOffset = image.offset();
            boolean uncleanDefault = uncleanDefault(image);
            if (!LeaderElectionDecisions.electUncleanLeaders(image, uncleanDefault).records().isEmpty()) {
                autoElect("unclean election",
                        working -> LeaderElectionDecisions.electUncleanLeaders(working, uncleanDefault));
            }
        }
    }

    private void autoElect(String what,
            Function<MetadataImage, ControllerResult<List<LeaderElectionDecisions.PartitionResult>>> decide) {
        autoElecting = true;
        CompletableFuture<ControllerResponse> done = new CompletableFuture<>();
        done.whenComplete((r, e) -> autoElecting = false); // completed on the controller thread
        enqueue(new Pending(null, clockMs.getAsLong(), done, working -> {
            ControllerResult<List<LeaderElectionDecisions.PartitionResult>> decision = decide.apply(working);
            if (!decision.records().isEmpty()) {
                log.info("node={} {}: new leaders for {} partition(s), first {}", nodeId, what,
                        decision.response().size(), decision.response().stream().limit(10)
                                .map(p -> p.topic() + "-" + p.partition()).toList());
            }
            return decided(decision, Controller::ok);
        }), false);
    }

    private Decision allocateProducerIds(int brokerId, int size, MetadataImage working) {
        if (size <= 0 || size > 1_000_000) {
            return new Decision(List.of(), applied -> ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.INVALID_REQUEST)
                    .setErrorMessage("producer id block size must be in 1..1000000"));
        }
        ControllerResult<Long> decision = ControllerDecisions.allocateProducerIds(working, brokerId, size);
        long first = decision.response();
        return decided(decision, applied -> {
            if (applied.nextProducerId() < first + size) {
                return ControllerResponse.newBuilder().setError(ControllerErrorCode.NOT_CONTROLLER)
                        .setErrorMessage("producer id block was not applied");
            }
            return ok(applied).setProducerIds(AllocateProducerIdsResponse.newBuilder()
                    .setFirstProducerId(first).setSize(size));
        });
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
            failQueued();
            return;
        }
        List<Integer> expired = heartbeats.expired(store.image(), clockMs.getAsLong());
        if (expired.isEmpty() || fencing) {
            return;
        }
        fencing = true;
        CompletableFuture<ControllerResponse> done = new CompletableFuture<>();
        done.whenComplete((r, e) -> fencing = false);
        // Ahead of every queued request: a dead broker's partitions must not wait for a backlog.
        enqueue(new Pending(null, clockMs.getAsLong(), done, working -> {
            List<Integer> stillExpired = heartbeats.expired(working, clockMs.getAsLong());
            if (!stillExpired.isEmpty()) {
                log.info("node={} fencing brokers {}: no heartbeat for the session timeout", nodeId, stillExpired);
            }
            return decided(ControllerDecisions.fenceBrokers(working, stillExpired,
                    uncleanDefault(working)), Controller::ok);
        }), true);
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
            case INVALID_REPLICA_ASSIGNMENT -> ControllerErrorCode.INVALID_REPLICA_ASSIGNMENT;
            case ELECTION_NOT_NEEDED -> ControllerErrorCode.ELECTION_NOT_NEEDED;
            case PREFERRED_LEADER_NOT_AVAILABLE -> ControllerErrorCode.PREFERRED_LEADER_NOT_AVAILABLE;
            case ELIGIBLE_LEADERS_NOT_AVAILABLE -> ControllerErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE;
            case NO_REASSIGNMENT_IN_PROGRESS -> ControllerErrorCode.NO_REASSIGNMENT_IN_PROGRESS;
            case BROKER_ID_NOT_REGISTERED -> ControllerErrorCode.BROKER_ID_NOT_REGISTERED;
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
