package io.tributary.replication;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.MetadataStore;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.TopicImage;
import io.tributary.replication.log.LogAppendResult;
import io.tributary.replication.log.LogConfig;
import io.tributary.replication.log.PartitionLog;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partition replicas this node hosts. It follows the metadata image: it opens the log of every partition whose
 * replica set names this node, updates each partition's role, and closes and deletes the logs of partitions it no
 * longer hosts (a deleted topic, or a topic re-created under the same name with a new id). It appends to leader
 * logs, wakes fetches waiting for data, and runs retention and flushing in the background.
 *
 * <p>Threads: {@link #onImage} runs on the metadata store's apply thread; appends and reads on request threads;
 * retention and flush on one scheduler thread. The partition map is concurrent; each log serialises its writers.
 */
public final class ReplicaManager implements MetadataStore.MetadataListener, Closeable {

    private static final Logger log = LoggerFactory.getLogger(ReplicaManager.class);
    private static final Pattern PARTITION_DIR = Pattern.compile(".+-[0-9]+");

    private final int nodeId;
    private final Path logsDir;
    private final LogConfig defaults;
    private final Clock clock;
    private final Map<PartitionId, Partition> partitions = new ConcurrentHashMap<>();
    private volatile MetadataImage lastImage = MetadataImage.EMPTY;
    private final Map<PartitionId, Set<CompletableFuture<Void>>> appendWatchers = new ConcurrentHashMap<>();
    private final ScheduledExecutorService background = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "log-maintenance");
        t.setDaemon(true);
        return t;
    });

    public ReplicaManager(int nodeId, Path logsDir, LogConfig defaults, Clock clock) throws IOException {
        this.nodeId = nodeId;
        this.logsDir = logsDir;
        this.defaults = defaults;
        this.clock = clock;
        Files.createDirectories(logsDir);
    }

    /** Starts retention checks and periodic flushes of the recovery point. */
    public void startMaintenance(long retentionCheckIntervalMs, long flushIntervalMs) {
        background.scheduleWithFixedDelay(this::applyRetention, retentionCheckIntervalMs, retentionCheckIntervalMs,
                TimeUnit.MILLISECONDS);
        background.scheduleWithFixedDelay(this::flushAll, flushIntervalMs, flushIntervalMs, TimeUnit.MILLISECONDS);
    }

    /** The config a topic's logs use: the node's defaults with the topic's overrides. */
    public LogConfig logConfig(TopicImage topic) {
        return defaults.withOverrides(topic.configs());
    }

    public LogConfig defaultLogConfig() {
        return defaults;
    }

    @Override
    public synchronized void onImage(MetadataImage previous, MetadataImage next) {
        Set<PartitionId> hosted = new HashSet<>();
        for (TopicImage topic : next.topics().values()) {
            for (PartitionImage p : topic.partitions()) {
                if (!p.replicas().contains(nodeId)) {
                    continue;
                }
                PartitionId id = new PartitionId(topic.name(), p.partition());
                hosted.add(id);
                Partition current = partitions.get(id);
                if (current != null && !current.topicId().equals(topic.topicId())) {
                    removePartition(id);
                    current = null;
                }
                if (current == null) {
                    openPartition(id, topic, p);
                } else {
                    current.update(p);
                    if (previous.topic(topic.name()) == null
                            || !previous.topic(topic.name()).configs().equals(topic.configs())) {
                        current.log().updateConfig(logConfig(topic));
                    }
                }
            }
        }
        for (PartitionId id : List.copyOf(partitions.keySet())) {
            if (!hosted.contains(id)) {
                removePartition(id);
            }
        }
        lastImage = next;
    }

    private void openPartition(PartitionId id, TopicImage topic, PartitionImage image) {
        try {
            PartitionLog partitionLog = PartitionLog.open(logsDir.resolve(id.dirName()), logConfig(topic), clock);
            partitions.put(id, new Partition(id, topic.topicId(), partitionLog, image, nodeId));
            log.info("node={} opened partition={} logEndOffset={} leader={} leaderEpoch={}", nodeId, id,
                    partitionLog.logEndOffset(), image.leader(), image.leaderEpoch());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the log of " + id, e);
        }
    }

    private void removePartition(PartitionId id) {
        Partition removed = partitions.remove(id);
        if (removed != null) {
            try {
                removed.log().delete();
                log.info("node={} deleted partition={}", nodeId, id);
            } catch (IOException e) {
                log.error("node={} cannot delete the log of {}", nodeId, id, e);
            }
        }
        wake(id);
    }

    /**
     * Deletes partition folders left from topics deleted while this node was down. Call only once the image is
     * current (the node has caught up with the metadata): a stale image would make live logs look stray.
     */
    public synchronized void deleteStrayLogs() {
        Set<String> hostedDirs = new HashSet<>();
        partitions.keySet().forEach(id -> hostedDirs.add(id.dirName()));
        try (Stream<Path> dirs = Files.list(logsDir)) {
            for (Path dir : dirs.toList()) {
                String name = dir.getFileName().toString();
                if (Files.isDirectory(dir) && PARTITION_DIR.matcher(name).matches() && !hostedDirs.contains(name)) {
                    log.info("node={} deleting stray log {}", nodeId, name);
                    PartitionLog stray = PartitionLog.open(dir, defaults, clock);
                    stray.delete();
                }
            }
        } catch (IOException e) {
            log.error("node={} cannot clean stray logs in {}", nodeId, logsDir, e);
        }
    }

    /**
     * The hosted replica of a partition. Throws NOT_LEADER_OR_FOLLOWER if the partition exists but this node holds
     * no replica of it (the client has stale metadata), UNKNOWN_TOPIC_OR_PARTITION if it does not exist.
     */
    public Partition partition(PartitionId id) {
        Partition p = partitions.get(id);
        if (p == null) {
            TopicImage topic = lastImage.topic(id.topic());
            if (topic != null && topic.partition(id.partition()) != null) {
                throw new ReplicaException(ReplicaError.NOT_LEADER_OR_FOLLOWER, "node " + nodeId
                        + " holds no replica of " + id);
            }
            throw new ReplicaException(ReplicaError.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host " + id);
        }
        return p;
    }

    public Collection<Partition> partitions() {
        return partitions.values();
    }

    /**
     * Appends client batches to a partition this node leads, then wakes fetches waiting on it. Log validation
     * failures surface as {@link io.tributary.replication.log.LogException}.
     */
    public LogAppendResult appendAsLeader(PartitionId id, int clientLeaderEpoch, ByteBuffer batches) {
        Partition p = partition(id);
        p.checkLeader(clientLeaderEpoch);
        try {
            LogAppendResult result = p.log().append(batches, p.leaderEpoch());
            if (!result.duplicate()) {
                wake(id);
            }
            return result;
        } catch (IOException e) {
            log.error("node={} cannot append to {}", nodeId, id, e);
            throw new ReplicaException(ReplicaError.KAFKA_STORAGE_ERROR, "disk error on " + id + ": " + e);
        }
    }

    /**
     * A future completed when any of the partitions gets records beyond the log end offset the caller saw, or
     * after {@code timeoutMs}. Never blocks; a fetch that found too little waits on this.
     */
    public CompletableFuture<Void> awaitAppend(Map<PartitionId, Long> seenLogEndOffsets, long timeoutMs) {
        CompletableFuture<Void> waiter = new CompletableFuture<>();
        for (PartitionId id : seenLogEndOffsets.keySet()) {
            appendWatchers.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(waiter);
        }
        waiter.whenComplete((v, e) -> seenLogEndOffsets.keySet().forEach(id -> {
            Set<CompletableFuture<Void>> set = appendWatchers.get(id);
            if (set != null) {
                set.remove(waiter);
            }
        }));
        // Re-check after registering, so that an append between the caller's read and now is not missed.
        for (Map.Entry<PartitionId, Long> seen : seenLogEndOffsets.entrySet()) {
            Partition p = partitions.get(seen.getKey());
            if (p == null || p.highWatermark() > seen.getValue()) {
                waiter.complete(null);
                return waiter;
            }
        }
        waiter.completeOnTimeout(null, timeoutMs, TimeUnit.MILLISECONDS);
        return waiter;
    }

    private void wake(PartitionId id) {
        Set<CompletableFuture<Void>> waiting = appendWatchers.get(id);
        if (waiting != null && !waiting.isEmpty()) {
            for (CompletableFuture<Void> f : List.copyOf(waiting)) {
                f.complete(null);
            }
        }
    }

    private void applyRetention() {
        for (Partition p : partitions.values()) {
            try {
                int deleted = p.log().deleteRetainedSegments();
                if (deleted > 0) {
                    log.info("node={} partition={} retention deleted {} segments, logStartOffset={}", nodeId, p.id(),
                            deleted, p.log().logStartOffset());
                }
            } catch (IOException | RuntimeException e) {
                log.error("node={} retention failed on {}", nodeId, p.id(), e);
            }
        }
    }

    private void flushAll() {
        for (Partition p : partitions.values()) {
            try {
                p.log().flush();
            } catch (IOException | RuntimeException e) {
                log.error("node={} flush failed on {}", nodeId, p.id(), e);
            }
        }
    }

    @Override
    public synchronized void close() {
        background.shutdownNow();
        for (Partition p : partitions.values()) {
            try {
                p.log().close();
            } catch (IOException e) {
                log.error("node={} cannot close the log of {}", nodeId, p.id(), e);
            }
        }
        partitions.clear();
    }
}
