package io.tributary.node.group;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.MetadataView;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.TopicImage;
import io.tributary.replication.AppendOutcome;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.storage.TxnMarkers;
import io.tributary.storage.internal.KafkaRecords;
import java.io.Closeable;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver of the group coordinators on this node: one {@link GroupCoordinator} per partition of
 * {@code __consumer_offsets} that this node leads. It loads a partition's groups from the log when it becomes
 * leader (answering COORDINATOR_LOAD_IN_PROGRESS meanwhile), drops them when leadership moves (answering pending
 * requests NOT_COORDINATOR), persists the records the coordinators return by appending them to the partition with
 * acks=all before they take effect, and ticks the coordinators.
 *
 * <p>Transactions (KIP-98): a TxnOffsetCommit's records are appended as a transactional batch of the producer
 * ({@link Ctx#persistTransactional}) and stay pending until the transaction's marker: a load replays the markers
 * it reads, and the marker writer reports each marker it writes here through {@link #onTransactionCompleted}.
 *
 * <p>Threads: every coordinator call runs on the single {@code group-coordinator} thread; appends wait for the
 * high watermark without holding it.
 */
public final class GroupService implements MetadataView.MetadataListener, Closeable {

    public static final String TOPIC = "__consumer_offsets";
    private static final Logger log = LoggerFactory.getLogger(GroupService.class);
    private static final long TICK_MS = 100;
    private static final long APPEND_TIMEOUT_MS = 10_000;
    private static final int LOAD_READ_BYTES = 1 << 20;
    /**
     * Transaction completions reported while a partition loads, kept to apply after the load (their markers may lie
     * past the end the load reads to). More make the load start over when it ends: a new load reads them all.
     */
    static final int MAX_COMPLETIONS_DURING_LOAD = 10_000;
    /**
     * Group requests waiting for the coordinator thread: more are answered COORDINATOR_NOT_AVAILABLE (clients find
     * the coordinator again and retry) rather than queued without a bound.
     */
    static final int MAX_QUEUED_CALLS = 10_000;

    /** A coordinated partition: loading until {@code loaded}; pending requests to answer if it is dropped. */
    private static final class Shard {
        final int partition;
        final int leaderEpoch;
        /** Replaced by a fresh one when a load fails half way and starts over (coordinator thread only). */
        GroupCoordinator coordinator;
        boolean loaded;
        /** The load in progress (coordinator thread only): when it began, its chunks and their largest read. */
        long loadStartNanos;
        int loadChunks;
        int loadMaxChunkBytes;
        /** Transaction completions reported during the load, in order (coordinator thread only). */
        final List<Completion> completionsDuringLoad = new ArrayList<>();
        /** Set when more than {@link #MAX_COMPLETIONS_DURING_LOAD} were reported: the load starts over at its end. */
        boolean reloadAfterLoad;
        final List<Runnable> abortOnUnload = new ArrayList<>();

        Shard(int partition, int leaderEpoch, GroupCoordinator coordinator) {
            this.partition = partition;
            this.leaderEpoch = leaderEpoch;
            this.coordinator = coordinator;
        }
    }

    /** A COMMIT or ABORT marker of the producer's transaction, written to a partition being loaded. */
    private record Completion(long producerId, boolean commit) {}

    /**
     * A completed load of one {@code __consumer_offsets} partition: the records replayed, the chunks they were read in
     * and the largest chunk (the most record bytes held at once), and how long it took from becoming leader.
     */
    public record LoadStats(int partition, long records, int chunks, int maxChunkBytes, long millis) {}

    /** Why a group request cannot be served here. */
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
    private final GroupCoordinatorConfig config;
    private final ConsumerGroupConfig consumerConfig;
    private final LongSupplier clockMs;
    private final int defaultPartitions;
    private final Map<Integer, Shard> shards = new HashMap<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "group-coordinator");
        t.setDaemon(true);
        return t;
    });
    private volatile MetadataImage image = MetadataImage.EMPTY;
    private final AtomicInteger queuedCalls = new AtomicInteger();
    /** The last completed load of each partition (at most one per {@code __consumer_offsets} partition). */
    private final Map<Integer, LoadStats> lastLoads = new ConcurrentHashMap<>();
    private final int maxQueuedCalls;

    public GroupService(int nodeId, ReplicaManager replicas, GroupCoordinatorConfig config, LongSupplier clockMs,
            int defaultPartitions) {
        this(nodeId, replicas, config, ConsumerGroupConfig.defaults(), clockMs, defaultPartitions, MAX_QUEUED_CALLS);
    }

    public GroupService(int nodeId, ReplicaManager replicas, GroupCoordinatorConfig config,
            ConsumerGroupConfig consumerConfig, LongSupplier clockMs, int defaultPartitions) {
        this(nodeId, replicas, config, consumerConfig, clockMs, defaultPartitions, MAX_QUEUED_CALLS);
    }

    GroupService(int nodeId, ReplicaManager replicas, GroupCoordinatorConfig config, LongSupplier clockMs,
            int defaultPartitions, int maxQueuedCalls) {
        this(nodeId, replicas, config, ConsumerGroupConfig.defaults(), clockMs, defaultPartitions, maxQueuedCalls);
    }

    GroupService(int nodeId, ReplicaManager replicas, GroupCoordinatorConfig config,
            ConsumerGroupConfig consumerConfig, LongSupplier clockMs, int defaultPartitions, int maxQueuedCalls) {
        this.maxQueuedCalls = maxQueuedCalls;
        this.nodeId = nodeId;
        this.replicas = replicas;
        this.config = config;
        this.consumerConfig = consumerConfig;
        this.clockMs = clockMs;
        this.defaultPartitions = defaultPartitions;
        thread.scheduleWithFixedDelay(this::tick, TICK_MS, TICK_MS, TimeUnit.MILLISECONDS);
    }

    /** The {@code __consumer_offsets} partition of a group: Kafka's abs(hashCode) mod partition count. */
    public int partitionFor(String groupId) {
        TopicImage topic = image.topic(TOPIC);
        int count = topic == null ? defaultPartitions : topic.partitions().size();
        return (groupId.hashCode() & 0x7fffffff) % count;
    }

    /** The leader of a group's partition, -1 if none (or no topic yet). */
    public int coordinatorFor(String groupId) {
        TopicImage topic = image.topic(TOPIC);
        if (topic == null) {
            return -1;
        }
        return topic.partition(partitionFor(groupId)).leader();
    }

    private GroupCoordinator newCoordinator() {
        return new GroupCoordinator(config, consumerConfig, () -> UUID.randomUUID().toString());
    }

    /** The cluster's topics in the latest metadata image, for consumer group heartbeats and describes. */
    public ClusterTopics clusterTopics() {
        MetadataImage now = image;
        return new ClusterTopics() {
            @Override
            public ConsumerGroupRecord.TopicMetadata byName(String name) {
                return metadata(now.topic(name));
            }

            @Override
            public ConsumerGroupRecord.TopicMetadata byId(org.apache.kafka.common.Uuid id) {
                return metadata(now.topic(new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits())));
            }

            @Override
            public java.util.Set<String> names() {
                return now.topics().keySet();
            }
        };
    }

    private static ConsumerGroupRecord.TopicMetadata metadata(TopicImage topic) {
        return topic == null ? null : new ConsumerGroupRecord.TopicMetadata(new org.apache.kafka.common.Uuid(
                topic.topicId().getMostSignificantBits(), topic.topicId().getLeastSignificantBits()), topic.name(),
                topic.partitions().size());
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
                unload(shard);
            }
        }
        for (Map.Entry<Integer, Integer> e : led.entrySet()) {
            if (!shards.containsKey(e.getKey())) {
                Shard shard = new Shard(e.getKey(), e.getValue(),
                        newCoordinator());
                shards.put(e.getKey(), shard);
                thread.execute(() -> load(shard));
            }
        }
    }

    private void unload(Shard shard) {
        shards.remove(shard.partition);
        shard.abortOnUnload.forEach(Runnable::run);
        log.info("node={} stops coordinating groups of {}-{}", nodeId, TOPIC, shard.partition);
    }

    /**
     * Rebuilds the partition's groups from its log start to its log end, one chunk of at most
     * {@value #LOAD_READ_BYTES} bytes per task on the coordinator thread: memory holds one chunk's records (plus the
     * groups themselves, which compaction keeps to the latest per key), and the other partitions' requests run between
     * chunks instead of waiting for the whole load.
     */
    private void load(Shard shard) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        try {
            Partition partition = replicas.partition(new PartitionId(TOPIC, shard.partition));
            // Every completion reported so far has its marker below the log end offset this load reads to.
            shard.completionsDuringLoad.clear();
            shard.reloadAfterLoad = false;
            shard.loadStartNanos = System.nanoTime();
            shard.loadChunks = 0;
            shard.loadMaxChunkBytes = 0;
            loadChunk(shard, partition, partition.log().logStartOffset(), partition.log().logEndOffset(), 0);
        } catch (Exception e) {
            retryLoad(shard, e);
        }
    }

    private void loadChunk(Shard shard, Partition partition, long offset, long end, long loadedSoFar) {
        if (shards.get(shard.partition) != shard) {
            return;
        }
        try {
            List<GroupLogEntry> entries = new ArrayList<>();
            long records = 0;
            long next = offset;
            if (offset < end) {
                ByteBuffer read = partition.log().read(offset, LOAD_READ_BYTES, end).records();
                shard.loadChunks++;
                shard.loadMaxChunkBytes = Math.max(shard.loadMaxChunkBytes, read.remaining());
                records = entries(read, entries);
                // After the last batch read, whole: batches left without records by compaction count too.
                next = KafkaRecords.endOffset(read, offset);
            }
            shard.coordinator.loadMore(entries, clockMs.getAsLong());
            long loaded = loadedSoFar + records;
            if (next > offset && next < end) {
                long from = next;
                thread.execute(() -> loadChunk(shard, partition, from, end, loaded));
                return;
            }
            if (shard.reloadAfterLoad) {
                log.info("node={} loads {}-{} again: more than {} transactions completed during its load", nodeId,
                        TOPIC, shard.partition, MAX_COMPLETIONS_DURING_LOAD);
                shard.coordinator = newCoordinator();
                thread.execute(() -> load(shard));
                return;
            }
            for (Completion c : shard.completionsDuringLoad) {
                shard.coordinator.completeTransaction(c.producerId(), c.commit());
            }
            shard.completionsDuringLoad.clear();
            shard.loaded = true;
            LoadStats stats = new LoadStats(shard.partition, loaded, shard.loadChunks, shard.loadMaxChunkBytes,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - shard.loadStartNanos));
            lastLoads.put(shard.partition, stats);
            log.info("node={} coordinates the groups of {}-{}: loaded {} records in {} ms ({} chunks, the largest {} "
                    + "bytes)", nodeId, TOPIC, shard.partition, loaded, stats.millis(), stats.chunks(),
                    stats.maxChunkBytes());
        } catch (Exception e) {
            retryLoad(shard, e);
        }
    }

    /**
     * Adds the entries of the stored batches {@code read} to {@code entries}, in log order: the records of a
     * transactional batch under its producer id, those of other batches without one, and each COMMIT/ABORT marker.
     * Returns how many records it added.
     */
    private static long entries(ByteBuffer read, List<GroupLogEntry> entries) {
        long records = 0;
        for (KafkaRecords.Batch batch : KafkaRecords.batches(read)) {
            if (batch.control()) {
                if (batch.markerType() == TxnMarkers.COMMIT || batch.markerType() == TxnMarkers.ABORT) {
                    entries.add(new GroupLogEntry.TxnMarker(batch.producerId(),
                            batch.markerType() == TxnMarkers.COMMIT));
                }
                continue;
            }
            long producerId = batch.transactional() ? batch.producerId() : GroupLogEntry.NO_PRODUCER_ID;
            for (KafkaRecords.KeyValue kv : batch.records()) {
                entries.add(new GroupLogEntry.Data(kv.offset(), producerId,
                        GroupRecordCodec.decode(kv.key(), kv.value())));
                records++;
            }
        }
        return records;
    }

    /**
     * Tells the coordinator of {@code __consumer_offsets} partition {@code offsetsPartition} that a COMMIT
     * ({@code commit}) or ABORT marker of {@code producerId}'s transaction is durable there: its pending transactional
     * offsets become committed, or go ({@link GroupCoordinator#completeTransaction}). Returns at once; the completion
     * runs on the coordinator thread, after every task queued before it; during a load it is kept and applied when
     * the load ends. A partition not coordinated here is left alone: whoever loads it reads the marker.
     *
     * <p>The caller (the marker writer, on the partition's leader, any thread) must call this once the marker is
     * committed (the high watermark passed it), and before it reports the marker written (WriteTxnMarkers' answer):
     * then the producer's next transaction, which begins only once the coordinator has every marker of this one,
     * cannot add offsets here before this completion runs. The records of the transaction were replayed before:
     * their appends were committed before the marker's.
     */
    public void onTransactionCompleted(int offsetsPartition, long producerId, boolean commit) {
        try {
            thread.execute(() -> {
                Shard shard = shards.get(offsetsPartition);
                if (shard == null) {
                    return;
                }
                if (shard.loaded) {
                    shard.coordinator.completeTransaction(producerId, commit);
                } else if (shard.completionsDuringLoad.size() < MAX_COMPLETIONS_DURING_LOAD) {
                    shard.completionsDuringLoad.add(new Completion(producerId, commit));
                } else {
                    shard.reloadAfterLoad = true;
                }
            });
        } catch (RejectedExecutionException e) {
            log.debug("node={} closed; transaction completion of producer {} on {}-{} not applied", nodeId,
                    producerId, TOPIC, offsetsPartition);
        }
    }

    /** A load that failed starts over, on a fresh coordinator, shortly. */
    private void retryLoad(Shard shard, Exception e) {
        log.warn("node={} could not load {}-{} yet ({}); retrying", nodeId, TOPIC, shard.partition, e.toString());
        shard.coordinator = newCoordinator();
        thread.schedule(() -> load(shard), 500, TimeUnit.MILLISECONDS);
    }

    /**
     * Runs {@code call} on the coordinator of the group's partition, on the coordinator thread. Fails with
     * {@link NotServedException} (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) if this node cannot serve it.
     * {@code onUnload} answers a request still pending when the partition is dropped.
     */
    public <T> CompletableFuture<T> call(String groupId, Function<Ctx, CompletableFuture<T>> call,
            Supplier<T> onUnload) {
        CompletableFuture<T> result = new CompletableFuture<>();
        if (queuedCalls.incrementAndGet() > maxQueuedCalls) {
            queuedCalls.decrementAndGet();
            result.completeExceptionally(new NotServedException(Errors.COORDINATOR_NOT_AVAILABLE));
            return result;
        }
        thread.execute(() -> {
            queuedCalls.decrementAndGet();
            Shard shard = shards.get(partitionFor(groupId));
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

    /** The last completed load of {@code __consumer_offsets} partition {@code partition} here, if any. */
    public Optional<LoadStats> lastLoad(int partition) {
        return Optional.ofNullable(lastLoads.get(partition));
    }

    /** Group requests waiting for the coordinator thread now (at most {@link #MAX_QUEUED_CALLS}). */
    public int queuedCalls() {
        return queuedCalls.get();
    }

    /** Runs {@code task} on the coordinator thread (tests: to hold the thread busy). */
    void runOnCoordinatorThread(Runnable task) {
        thread.execute(task);
    }

    /** Runs {@code call} on every loaded coordinator (ListGroups). */
    public <T> CompletableFuture<List<T>> callAll(Function<GroupCoordinator, T> call) {
        return CompletableFuture.supplyAsync(() -> {
            List<T> out = new ArrayList<>();
            for (Shard shard : shards.values()) {
                if (shard.loaded) {
                    out.add(call.apply(shard.coordinator));
                }
            }
            return out;
        }, thread);
    }

    /** What a call sees: its coordinator, the time, and how to persist records. */
    public final class Ctx {
        private final Shard shard;
        private final long nowMs;

        Ctx(Shard shard, long nowMs) {
            this.shard = shard;
            this.nowMs = nowMs;
        }

        public GroupCoordinator coordinator() {
            return shard.coordinator;
        }

        public long nowMs() {
            return nowMs;
        }

        /** Persists the membership snapshots the last call queued (best effort: members rejoin if lost). */
        public void persistMembership() {
            List<GroupRecord> records = shard.coordinator.takeRecords();
            if (!records.isEmpty()) {
                append(shard, records, NOT_TRANSACTIONAL).whenComplete((firstOffset, e) -> {
                    if (e == null) {
                        thread.execute(() -> replay(shard, records, firstOffset, GroupLogEntry.NO_PRODUCER_ID));
                    }
                });
            }
        }

        /**
         * Appends records with acks=all, then replays them on the coordinator thread; the future completes after
         * the replay, or fails with the append's Kafka error.
         */
        public CompletableFuture<Void> persist(List<GroupRecord> records) {
            return persist(records, NOT_TRANSACTIONAL);
        }

        /**
         * Appends a TxnOffsetCommit's records with acks=all as one transactional batch of the producer at its epoch
         * (no sequence: Kafka's coordinator writes are not sequenced; the log fences an older epoch with
         * INVALID_PRODUCER_EPOCH), then replays them as pending offsets of its transaction
         * ({@link GroupCoordinator#replayTransactional}) on the coordinator thread; the future completes after the
         * replay, or fails with the append's Kafka error.
         */
        public CompletableFuture<Void> persistTransactional(List<GroupRecord> records, long producerId,
                short producerEpoch) {
            if (producerId < 0) {
                throw new IllegalArgumentException("a transactional append needs a producer id, got " + producerId);
            }
            return persist(records, new Producer(producerId, producerEpoch));
        }

        private CompletableFuture<Void> persist(List<GroupRecord> records, Producer producer) {
            if (records.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> done = new CompletableFuture<>();
            append(shard, records, producer).whenComplete((firstOffset, e) -> thread.execute(() -> {
                if (e != null) {
                    done.completeExceptionally(e);
                } else {
                    replay(shard, records, firstOffset, producer.producerId());
                    done.complete(null);
                }
            }));
            return done;
        }
    }

    /** The producer a batch is written for: {@link #NOT_TRANSACTIONAL} for the coordinator's own records. */
    private record Producer(long producerId, short producerEpoch) {}

    private static final Producer NOT_TRANSACTIONAL = new Producer(GroupLogEntry.NO_PRODUCER_ID, (short) -1);

    /** Replays appended records, one per log offset from {@code firstOffset} (one batch, one record each). */
    private static void replay(Shard shard, List<GroupRecord> records, long firstOffset, long producerId) {
        for (int i = 0; i < records.size(); i++) {
            if (producerId == GroupLogEntry.NO_PRODUCER_ID) {
                shard.coordinator.replay(records.get(i), firstOffset + i);
            } else {
                shard.coordinator.replayTransactional(records.get(i), firstOffset + i, producerId);
            }
        }
    }

    /**
     * Appends {@code records} as one batch, as leader in the shard's epoch; the future completes with the offset
     * of the first record once the high watermark passes the batch. Committed futures of one partition complete in
     * offset order (the partition's waiters are sorted by offset), so replays are queued in log order.
     */
    private CompletableFuture<Long> append(Shard shard, List<GroupRecord> records, Producer producer) {
        List<byte[]> keys = new ArrayList<>();
        List<byte[]> values = new ArrayList<>();
        for (GroupRecord record : records) {
            GroupRecordCodec.Encoded encoded = GroupRecordCodec.encode(record);
            keys.add(encoded.key());
            values.add(encoded.value());
        }
        PartitionId id = new PartitionId(TOPIC, shard.partition);
        long nowMs = clockMs.getAsLong();
        ByteBuffer batch = producer.producerId() == GroupLogEntry.NO_PRODUCER_ID
                ? KafkaRecords.batchOf(keys, values, nowMs)
                : KafkaRecords.transactionalBatchOf(keys, values, nowMs, producer.producerId(),
                        producer.producerEpoch(), KafkaRecords.NO_SEQUENCE);
        try {
            AppendOutcome outcome = replicas.appendAsLeader(id, shard.leaderEpoch, batch, -1);
            long firstOffset = outcome.result().firstOffset();
            return outcome.committed().orTimeout(APPEND_TIMEOUT_MS, TimeUnit.MILLISECONDS)
                    .thenApply(v -> firstOffset);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private void tick() {
        long nowMs = clockMs.getAsLong();
        for (Shard shard : List.copyOf(shards.values())) {
            if (!shard.loaded) {
                continue;
            }
            try {
                List<GroupRecord> records = shard.coordinator.onTick(nowMs);
                if (!records.isEmpty()) {
                    new Ctx(shard, nowMs).persist(records);
                }
            } catch (RuntimeException e) {
                log.error("node={} group tick of {}-{} failed", nodeId, TOPIC, shard.partition, e);
            }
        }
    }

    /** A group coordinated here: its state name and committed offsets. */
    public record GroupSnapshot(String state, Map<org.apache.kafka.common.TopicPartition, Long> committedOffsets) {}

    /** Every group coordinated here, for metrics. */
    public CompletableFuture<Map<String, GroupSnapshot>> snapshot() {
        return CompletableFuture.supplyAsync(() -> {
            Map<String, GroupSnapshot> out = new HashMap<>();
            for (Shard shard : shards.values()) {
                if (shard.loaded) {
                    for (String group : shard.coordinator.groupIds()) {
                        out.put(group, new GroupSnapshot(shard.coordinator.groupState(group),
                                shard.coordinator.committedOffsets(group)));
                    }
                }
            }
            return out;
        }, thread);
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
