package io.tributary.node.txn;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.MetadataView;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.TopicImage;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.storage.internal.KafkaRecords;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver of the transaction coordinators on this node: one {@link TransactionCoordinator} per partition of
 * {@code __transaction_state} that this node leads, following the duties listed on that class. It loads a partition
 * when it becomes leader (COORDINATOR_LOAD_IN_PROGRESS meanwhile), persists the records the coordinators decide with
 * acks=all before they take effect, delivers the markers of prepared transactions to the partitions' leaders
 * ({@link TransactionMarkerSender}), and ticks the coordinators (timeouts, expiration).
 *
 * <p>A load reads the partition to its log end and then waits until the high watermark has reached that end: the
 * state served (and the markers sent for it) is only ever committed state, which every later leader has. An append
 * whose outcome is unknown (it failed after being written: a timeout, a lost leadership) makes the coordinator reload
 * from the log instead of guessing, as the core requires.
 *
 * <p>Threads: every coordinator call runs on the single {@code txn-coordinator} thread; appends and marker writes
 * complete elsewhere and come back to it.
 */
public final class TransactionService implements MetadataView.MetadataListener, Closeable {

    public static final String TOPIC = "__transaction_state";
    private static final Logger log = LoggerFactory.getLogger(TransactionService.class);
    private static final long TICK_MS = 100;
    private static final long APPEND_TIMEOUT_MS = 10_000;
    private static final int LOAD_READ_BYTES = 1 << 20;
    private static final long RETRY_MS = 200;
    /** Requests waiting for the coordinator thread; more are answered COORDINATOR_NOT_AVAILABLE. */
    static final int MAX_QUEUED_CALLS = 10_000;

    /** A coordinated partition: loading until {@code loaded}; pending requests to answer if it is dropped. */
    private static final class Shard {
        final int partition;
        final int leaderEpoch;
        final TransactionCoordinator coordinator;
        boolean loaded;
        final List<Runnable> abortOnUnload = new ArrayList<>();

        Shard(int partition, int leaderEpoch, TransactionCoordinator coordinator) {
            this.partition = partition;
            this.leaderEpoch = leaderEpoch;
            this.coordinator = coordinator;
        }
    }

    /** Why a transaction request cannot be served here. */
    public static final class NotServedException extends RuntimeException {
        private final Errors error;

        NotServedException(Errors error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        public Errors error() {
            return error;
        }
    }

    private final int nodeId;
    private final ReplicaManager replicas;
    private final TransactionCoordinatorConfig config;
    private final LongSupplier producerIds;
    private final LongSupplier clockMs;
    private final int defaultPartitions;
    private final TransactionMarkerSender markers;
    private final Map<Integer, Shard> shards = new HashMap<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "txn-coordinator");
        t.setDaemon(true);
        return t;
    });
    private volatile MetadataImage image = MetadataImage.EMPTY;
    private final AtomicInteger queuedCalls = new AtomicInteger();

    /**
     * @param producerIds the next unused producer id without blocking, or -1 while none is at hand (a block is
     *     being fetched from the controller)
     */
    public TransactionService(int nodeId, ReplicaManager replicas, TransactionCoordinatorConfig config,
            LongSupplier producerIds, LongSupplier clockMs, int defaultPartitions, TransactionMarkerSender markers) {
        this.nodeId = nodeId;
        this.replicas = replicas;
        this.config = config;
        this.producerIds = producerIds;
        this.clockMs = clockMs;
        this.defaultPartitions = defaultPartitions;
        this.markers = markers;
        thread.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /** The {@code __transaction_state} partition of a transactional id: Kafka's abs(hashCode) mod partitions. */
    public int partitionFor(String transactionalId) {
        TopicImage topic = image.topic(TOPIC);
        int count = topic == null ? defaultPartitions : topic.partitions().size();
        return (transactionalId.hashCode() & 0x7fffffff) % count;
    }

    /** The leader of the id's partition, -1 if none (or no topic yet). */
    public int coordinatorFor(String transactionalId) {
        TopicImage topic = image.topic(TOPIC);
        return topic == null ? -1 : topic.partition(partitionFor(transactionalId)).leader();
    }

    public boolean topicExists() {
        return image.topic(TOPIC) != null;
    }

    @Override
    public void onImage(MetadataImage previous, MetadataImage next) {
        image = next;
        TopicImage topic = next.topic(TOPIC);
        Map<Integer, Integer> led = new HashMap<>();
        if (topic != null) {
            for (PartitionImage p : topic.partitions()) {
                if (p.leader() == nodeId) {
                    led.put(p.partition(), p.leaderEpoch());
                }
            }
        }
        thread.execute(() -> reconcile(led));
    }

    private void reconcile(Map<Integer, Integer> led) {
        for (Shard shard : List.copyOf(shards.values())) {
            Integer epoch = led.get(shard.partition);
            if (epoch == null || epoch != shard.leaderEpoch) {
                unload(shard, "leadership moved");
            }
        }
        for (Map.Entry<Integer, Integer> e : led.entrySet()) {
            if (!shards.containsKey(e.getKey())) {
                startLoad(e.getKey(), e.getValue());
            }
        }
    }

    private void startLoad(int partition, int leaderEpoch) {
        Shard shard = new Shard(partition, leaderEpoch,
                new TransactionCoordinator(config, leaderEpoch, producerIds));
        shards.put(partition, shard);
        thread.execute(() -> load(shard));
    }

    private void unload(Shard shard, String why) {
        if (shards.get(shard.partition) == shard) {
            shards.remove(shard.partition);
        }
        shard.abortOnUnload.forEach(Runnable::run);
        shard.abortOnUnload.clear();
        log.info("node={} stops coordinating the transactions of {}-{} ({})", nodeId, TOPIC, shard.partition, why);
    }

    /**
     * The outcome of an append is unknown: the coordinator's view may differ from the log's. Drop it (answering its
     * pending requests NOT_COORDINATOR) and load the partition again, as a successor would.
     */
    private void reload(Shard shard, Throwable cause) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        log.warn("node={} reloads {}-{}: an append's outcome is unknown ({})", nodeId, TOPIC, shard.partition,
                cause.toString());
        unload(shard, "reload");
        startLoad(shard.partition, shard.leaderEpoch);
    }

    // ---- loading ----

    /**
     * Reads the partition from its log start to its log end in chunks of at most {@value #LOAD_READ_BYTES} bytes,
     * one chunk per task (other partitions' requests run in between), keeping each id's latest record (each record
     * is an id's whole state), then waits for the high watermark to reach that end before serving.
     */
    private void load(Shard shard) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        try {
            Partition partition = replicas.partition(new PartitionId(TOPIC, shard.partition));
            loadChunk(shard, partition, partition.log().logStartOffset(), partition.log().logEndOffset(),
                    new LinkedHashMap<>(), System.nanoTime());
        } catch (Exception e) {
            retryLoad(shard, e);
        }
    }

    private void loadChunk(Shard shard, Partition partition, long offset, long end,
            LinkedHashMap<String, TransactionRecord> latest, long startNanos) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        try {
            long next = offset;
            if (offset < end) {
                ByteBuffer read = partition.log().read(offset, LOAD_READ_BYTES, end).records();
                for (KafkaRecords.KeyValue kv : KafkaRecords.records(read)) {
                    TransactionRecord record = TransactionRecordCodec.decode(kv.key(), kv.value());
                    latest.remove(record.transactionalId());
                    latest.put(record.transactionalId(), record);
                }
                next = KafkaRecords.endOffset(read, offset);
            }
            if (next > offset && next < end) {
                long from = next;
                thread.execute(() -> loadChunk(shard, partition, from, end, latest, startNanos));
                return;
            }
            awaitCommitted(shard, partition, end, latest, startNanos);
        } catch (Exception e) {
            retryLoad(shard, e);
        }
    }

    /** Serves once everything loaded is committed (the high watermark at the end read). */
    private void awaitCommitted(Shard shard, Partition partition, long end,
            LinkedHashMap<String, TransactionRecord> latest, long startNanos) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        if (partition.highWatermark() < end) {
            thread.schedule(() -> awaitCommitted(shard, partition, end, latest, startNanos), 20,
                    TimeUnit.MILLISECONDS);
            return;
        }
        shard.coordinator.load(latest.values());
        shard.loaded = true;
        log.info("node={} coordinates the transactions of {}-{} in epoch {}: {} transactional ids loaded in {} ms",
                nodeId, TOPIC, shard.partition, shard.leaderEpoch, shard.coordinator.snapshot().size(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        sendMarkers(shard);
    }

    private void retryLoad(Shard shard, Exception e) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        log.warn("node={} could not load {}-{} yet ({}); retrying", nodeId, TOPIC, shard.partition, e.toString());
        shards.remove(shard.partition);
        thread.schedule(() -> {
            if (!shards.containsKey(shard.partition) && ledEpoch(shard.partition) == shard.leaderEpoch) {
                startLoad(shard.partition, shard.leaderEpoch);
            }
        }, 500, TimeUnit.MILLISECONDS);
    }

    /** The leader epoch of the partition if this node leads it in the newest image, else -1. */
    private int ledEpoch(int partition) {
        TopicImage topic = image.topic(TOPIC);
        if (topic == null || partition >= topic.partitions().size()) {
            return -1;
        }
        PartitionImage p = topic.partition(partition);
        return p.leader() == nodeId ? p.leaderEpoch() : -1;
    }

    // ---- requests ----

    /**
     * Runs {@code call} on the coordinator of the id's partition, on the coordinator thread. Fails with
     * {@link NotServedException} (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE) if this
     * node cannot serve it now; {@code onUnload} answers a request still pending when the partition is dropped.
     */
    public <T> CompletableFuture<T> call(String transactionalId, Function<Ctx, CompletableFuture<T>> call,
            Supplier<T> onUnload) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (queuedCalls.incrementAndGet() > MAX_QUEUED_CALLS) {
            queuedCalls.decrementAndGet();
            result.completeExceptionally(new NotServedException(Errors.COORDINATOR_NOT_AVAILABLE));
            return result;
        }
        thread.execute(() -> {
            queuedCalls.decrementAndGet();
            Shard shard = shards.get(partitionFor(transactionalId));
            if (shard == null) {
                result.completeExceptionally(new NotServedException(Errors.NOT_COORDINATOR));
                return;
            }
            if (!shard.loaded) {
                result.completeExceptionally(new NotServedException(Errors.COORDINATOR_LOAD_IN_PROGRESS));
                return;
            }
            Runnable abort = () -> result.complete(onUnload.get());
            shard.abortOnUnload.add(abort);
            result.whenComplete((v, e) -> thread.execute(() -> shard.abortOnUnload.remove(abort)));
            try {
                call.apply(new Ctx(shard, clockMs.getAsLong())).whenComplete((v, e) -> {
                    if (e != null) {
                        result.completeExceptionally(e);
                    } else {
                        result.complete(v);
                    }
                });
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /** Runs {@code call} on every loaded coordinator here (ListTransactions). */
    public <T> CompletableFuture<List<T>> callAll(Function<TransactionCoordinator, T> call, long[] nowMs) {
        return CompletableFuture.supplyAsync(() -> {
            nowMs[0] = clockMs.getAsLong();
            List<T> out = new ArrayList<>();
            for (Shard shard : shards.values()) {
                if (shard.loaded) {
                    out.add(call.apply(shard.coordinator));
                }
            }
            return out;
        }, thread);
    }

    /** Whether every partition of {@code __transaction_state} led here is loaded (ListTransactions' error). */
    public CompletableFuture<Boolean> allLoaded() {
        return CompletableFuture.supplyAsync(() -> shards.values().stream().allMatch(s -> s.loaded), thread);
    }

    /** Requests waiting for the coordinator thread now (at most {@link #MAX_QUEUED_CALLS}). */
    public int queuedCalls() {
        return queuedCalls.get();
    }

    /** What a call sees: its coordinator, the time, and how to carry out a decision. */
    public final class Ctx {
        private final Shard shard;
        private final long nowMs;

        Ctx(Shard shard, long nowMs) {
            this.shard = shard;
            this.nowMs = nowMs;
        }

        public TransactionCoordinator coordinator() {
            return shard.coordinator;
        }

        public long nowMs() {
            return nowMs;
        }

        /**
         * Carries out a decision: appends its records with acks=all, replays them, then completes with its
         * response; with no records at once. If the append is refused (nothing written) the records are released
         * and the future completes with {@code onError} of the client error; if its outcome is unknown the
         * coordinator reloads and the request is answered NOT_COORDINATOR (the client finds it again and retries).
         */
        public <R> CompletableFuture<R> run(TransactionDecision<R> decision, Function<Errors, R> onError) {
            if (decision.records().isEmpty()) {
                return CompletableFuture.completedFuture(decision.response());
            }
            CompletableFuture<R> done = new CompletableFuture<>();
            persist(shard, decision.records(), () -> done.complete(decision.response()),
                    error -> done.complete(onError.apply(TransactionDecision.clientError(error))));
            return done;
        }
    }

    /**
     * Appends {@code records} with acks=all; on success replays them on the coordinator thread and runs
     * {@code onDurable}, then delivers any markers they require. A refused append releases the records and runs
     * {@code onRefused}; an append that may have been written reloads the coordinator (whose unload answers the
     * request).
     */
    private void persist(Shard shard, List<TransactionRecord> records, Runnable onDurable,
            java.util.function.Consumer<Errors> onRefused) {
        List<byte[]> keys = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (TransactionRecord record : records) {
            TransactionRecordCodec.Encoded encoded = TransactionRecordCodec.encode(record);
            keys.add(encoded.key());
            values.add(encoded.value());
        }
        CompletableFuture<Void> committed;
        try {
            committed = replicas.appendAsLeader(new PartitionId(TOPIC, shard.partition), shard.leaderEpoch,
                    KafkaRecords.batchOf(keys, values, clockMs.getAsLong()), -1).committed()
                    .orTimeout(APPEND_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (RuntimeException refused) {
            // Thrown before anything was written (not the leader, too small an ISR, a disk error on append).
            records.forEach(shard.coordinator::appendFailed);
            onRefused.accept(appendError(refused));
            return;
        }
        committed.whenComplete((v, e) -> thread.execute(() -> {
            if (shards.get(shard.partition) != shard) {
                return; // unloaded meanwhile: its requests were answered
            }
            if (e != null) {
                reload(shard, e);
                return;
            }
            records.forEach(shard.coordinator::replay);
            onDurable.run();
            sendMarkers(shard);
        }));
    }

    private static Errors appendError(RuntimeException e) {
        if (e instanceof io.tributary.replication.ReplicaException re) {
            return switch (re.error()) {
                case NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH -> Errors.NOT_LEADER_OR_FOLLOWER;
                case NOT_ENOUGH_REPLICAS -> Errors.NOT_ENOUGH_REPLICAS;
                case NOT_ENOUGH_REPLICAS_AFTER_APPEND -> Errors.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
                case OFFSET_OUT_OF_RANGE -> Errors.OFFSET_OUT_OF_RANGE; // DeleteRecords only
                case KAFKA_STORAGE_ERROR -> Errors.KAFKA_STORAGE_ERROR;
                case UNKNOWN_TOPIC_OR_PARTITION -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
            };
        }
        if (e instanceof io.tributary.storage.LogException) {
            return Errors.UNKNOWN_SERVER_ERROR;
        }
        throw e;
    }

    // ---- markers ----

    /** Delivers the markers of every transaction the coordinator has prepared since the last call. */
    private void sendMarkers(Shard shard) {
        for (TransactionMarkers m : shard.coordinator.takeMarkers()) {
            deliver(shard, m, new HashSet<>(m.partitions()), 0);
        }
    }

    /**
     * Sends the markers still to write, grouped by each partition's current leader; what fails is sent again after
     * a backoff, until every partition acknowledged (a partition of a deleted topic counts as written) or the
     * coordinator is dropped. Then the transaction completes.
     */
    private void deliver(Shard shard, TransactionMarkers m, Set<TopicPartition> remaining, int attempt) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        if (remaining.isEmpty()) {
            complete(shard, m);
            return;
        }
        markers.send(m, remaining, image).whenComplete((result, e) -> thread.execute(() -> {
            if (e == null && result.fenced()) {
                log.warn("node={} was fenced as the coordinator of {}-{} by a partition leader; its successor "
                        + "completes {}", nodeId, TOPIC, shard.partition, m.transactionalId());
                return;
            }
            Set<TopicPartition> left = new HashSet<>(remaining);
            if (e == null) {
                left.removeAll(result.written());
            }
            if (left.isEmpty()) {
                deliver(shard, m, left, 0);
                return;
            }
            long backoff = Math.min(2_000, RETRY_MS << Math.min(attempt, 4));
            thread.schedule(() -> deliver(shard, m, left, attempt + 1), backoff, TimeUnit.MILLISECONDS);
        }));
    }

    /** Every marker is written: append the transaction's CompleteCommit/CompleteAbort (retried if refused). */
    private void complete(Shard shard, TransactionMarkers m) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        List<TransactionRecord> records = shard.coordinator.markersWritten(m.transactionalId(), m.producerId(),
                m.producerEpoch(), clockMs.getAsLong());
        if (records.isEmpty()) {
            return;
        }
        persist(shard, records, () -> { }, error -> thread.schedule(() -> complete(shard, m), RETRY_MS,
                TimeUnit.MILLISECONDS));
    }

    // ---- time ----

    private void tick() {
        long nowMs = clockMs.getAsLong();
        for (Shard shard : List.copyOf(shards.values())) {
            if (!shard.loaded) {
                continue;
            }
            try {
                List<TransactionRecord> records = shard.coordinator.onTick(nowMs);
                if (!records.isEmpty()) {
                    persist(shard, records, () -> { }, error -> { });
                }
            } catch (RuntimeException e) {
                log.error("node={} transaction tick of {}-{} failed", nodeId, TOPIC, shard.partition, e);
            }
        }
    }

    /** The number of transactional ids per state name coordinated here, for metrics. */
    public CompletableFuture<Map<String, Integer>> stateCounts() {
        return CompletableFuture.supplyAsync(() -> {
            Map<String, Integer> counts = new HashMap<>();
            for (Shard shard : shards.values()) {
                if (shard.loaded) {
                    for (TransactionMetadata m : shard.coordinator.snapshot().values()) {
                        counts.merge(m.state().kafkaName(), 1, Integer::sum);
                    }
                }
            }
            return counts;
        }, thread);
    }

    @Override
    public void close() {
        thread.shutdownNow();
        markers.close();
    }
}
