package io.tributary.replication;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.DynamicBrokerConfigs;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.MetadataView;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.TopicImage;
import io.tributary.storage.CleanerThrottle;
import io.tributary.storage.CompactionConfig;
import io.tributary.storage.LogConfig;
import io.tributary.storage.MessageFormatConfig;
import io.tributary.storage.PartitionLog;
import io.tributary.storage.PartitionMetadataFile;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partition replicas this node hosts, and their replication. It follows the metadata image: it opens the log
 * of every partition whose replica set names this node, makes each one leader or follower as the image says
 * (followers fetch from their leader through a {@link ReplicaFetcher} per leader broker), and deletes the logs of
 * partitions it no longer hosts (only for an explicit deletion or reassignment of their topic id: never because
 * a topic is missing from an image). As leader it appends client batches, serves follower fetches
 * ({@link #handleReplicaFetch}), advances high watermarks, completes acks=all waits, and asks the controller to
 * shrink or expand ISRs. It wakes waiting fetches, and runs retention, flushing and idempotent-producer expiration
 * in the background.
 *
 * <p>Threads: {@link #onImage} runs on the metadata applying thread; appends and reads on request threads; follower
 * fetches on gRPC threads; retention, flush and producer expiration on the {@code log-maintenance} thread, ISR checks
 * on the {@code isr-check} thread.
 */
public final class ReplicaManager implements MetadataView.MetadataListener, Closeable {

    private static final Logger log = LoggerFactory.getLogger(ReplicaManager.class);
    private static final Pattern PARTITION_DIR = Pattern.compile(".+-[0-9]+");
    /** The name of the broker endpoint followers fetch from. */
    public static final String REPLICATION_ENDPOINT = "REPLICATION";
    /** Replication throttle configs (KIP-73): dynamic broker rates and topic replica lists. */
    public static final String LEADER_THROTTLED_RATE = "leader.replication.throttled.rate";
    public static final String FOLLOWER_THROTTLED_RATE = "follower.replication.throttled.rate";
    public static final String LEADER_THROTTLED_REPLICAS = "leader.replication.throttled.replicas";
    public static final String FOLLOWER_THROTTLED_REPLICAS = "follower.replication.throttled.replicas";
    private static final int LOG_LOADER_THREADS = 4;

    private final int nodeId;
    private final Path logsDir;
    private final LogConfig defaults;
    private final Clock clock;
    private final ReplicationConfig replication;
    private final Map<PartitionId, Partition> partitions = new ConcurrentHashMap<>();
    /** Fetches waiting for a partition's log end to move: followers' (leader side). */
    private final Map<PartitionId, Set<CompletableFuture<Void>>> watchers = new ConcurrentHashMap<>();
    /** Fetches waiting for a partition's high watermark to move: consumers' long polls. */
    private final Map<PartitionId, Set<CompletableFuture<Void>>> consumerWatchers = new ConcurrentHashMap<>();
    /** Fetches (consumers' long polls, followers' waits) now waiting in {@link #await}. */
    private final AtomicInteger fetchWaiters = new AtomicInteger();
    private final Map<Integer, ReplicaFetcher> fetchers = new HashMap<>();
    private final ScheduledThreadPoolExecutor background = maintenanceThread();
    /** The timeouts of fetches' and produces' waits (not the JDK's delayer: {@link WaitTimeouts}). */
    private final WaitTimeouts timeouts = new WaitTimeouts("wait-timeouts");
    /**
     * Compaction, apart from retention and flushes: a long clean never delays them. {@code log.cleaner.threads}
     * threads ({@link #startCleaner}); none before it is called.
     */
    private volatile ScheduledExecutorService cleaner;
    /** The node's file settings of the cleaner, and those running (with the dynamic ones); null before start. */
    private LogCleanerConfig staticCleanerConfig;
    private LogCleanerConfig runningCleanerConfig;
    /** The logs a cleaner thread is compacting now: each log is compacted by one thread at a time. */
    private final Set<PartitionId> cleaning = ConcurrentHashMap.newKeySet();
    private final AtomicLong cleanerRuns = new AtomicLong();
    private final AtomicLong cleanerBytesRead = new AtomicLong();
    private final AtomicLong cleanerBytesRemoved = new AtomicLong();
    /** Partitions with an ISR check queued on {@link #isrChecks} by a follower's fetch (so at most one each). */
    private final Set<PartitionId> isrExpandsQueued = ConcurrentHashMap.newKeySet();
    /** ISR checks run apart from flushes and retention, so that a slow disk never delays a shrink or an expand. */
    private final ScheduledExecutorService isrChecks = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "isr-check");
        t.setDaemon(true);
        return t;
    });
    private final ScheduledExecutorService fetcherScheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "replica-fetcher");
        t.setDaemon(true);
        return t;
    });
    /**
     * The network threads of this node's fetchers (Kafka's replica fetcher threads): each fetcher's connection is
     * served by one of them, which also applies the leader's answers (appends them) and sends the next fetch, with
     * no hand-off to another thread per answer.
     */
    private final FetcherLoops fetcherLoops = new FetcherLoops(FetcherLoops.DEFAULT_THREADS);
    private volatile MetadataImage lastImage = MetadataImage.EMPTY;
    /** This node's dynamic topic-config defaults (KIP-226), from the last image; replaced, never changed. */
    private volatile Map<String, String> dynamicTopicDefaults = Map.of();
    private volatile MessageFormatConfig messageFormatDefaults = MessageFormatConfig.DEFAULTS;
    /** Replication throttles (KIP-73): the leader's answers and this node's fetches of throttled replicas. */
    private final ReplicationQuota leaderQuota = new ReplicationQuota("leader");
    private final ReplicationQuota followerQuota = new ReplicationQuota("follower");
    /** Counted from the image: ISR changes of partitions this node leads, whoever asked for them. */
    private final AtomicLong isrShrinks = new AtomicLong();
    private final AtomicLong isrExpands = new AtomicLong();
    /** Leader epoch changes in the image of partitions this node hosts. */
    private final AtomicLong leaderElections = new AtomicLong();
    private final AtomicLong strayLogDirs = new AtomicLong();
    /** The suffix of a replica's log directory renamed for deletion ({@link #deleteLater}). */
    static final String DELETE_SUFFIX = "-delete";
    /** Deletes the files of removed replicas' logs, off the metadata thread; its queue holds at most one task per
     * removed replica (counted by {@link #pendingDeletes}). */
    private final ExecutorService deleter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "log-deleter");
        t.setDaemon(true);
        return t;
    });
    private final AtomicInteger pendingDeletes = new AtomicInteger();
    /** {@code log.flush.interval.messages} for every log this node opens ({@link PartitionLog#maybeFlush}). */
    private volatile long flushIntervalMessages = Long.MAX_VALUE;
    /** What the node does when a log's files fail ({@link #setDiskFailureHandler}); nothing by default. */
    private volatile DiskFailureHandler diskFailureHandler = (partition, error) -> { };
    private final AtomicLong diskFailures = new AtomicLong();
    /** Set by {@link #beginClose}: threads then interrupted may fail writes, which are no disk failures. */
    private volatile boolean closing;
    /** Most segment-file slices open at once for consumers' zero-copy fetches; past it, fetches copy. */
    public static final int MAX_FILE_SLICES = 1024;
    private final io.tributary.storage.FileSlices fileSlices = new io.tributary.storage.FileSlices(MAX_FILE_SLICES);
    /** Directory/topic id pairs already reported as held by another topic id (to log each once). */
    private final Set<String> conflicting = ConcurrentHashMap.newKeySet();
    /** Opens and recovers logs in parallel when many are hosted at once (start-up). */
    private final ExecutorService logLoaders = Executors.newFixedThreadPool(LOG_LOADER_THREADS, r -> {
        Thread t = new Thread(r, "log-loader");
        t.setDaemon(true);
        return t;
    });
    private volatile IsrChannel isrChannel = (topicId, partition, proposal) ->
            CompletableFuture.completedFuture(IsrChangeResult.UNKNOWN);
    /** How long a leader waits before re-sending an AlterPartition that got no definite answer. */
    private static final long ISR_CHANGE_RETRY_BACKOFF_MS = 500;
    private volatile LongSupplier brokerEpoch = () -> -1;
    /** Mutual TLS towards leaders' replication ports, or null for plaintext. */
    private volatile io.grpc.netty.shaded.io.netty.handler.ssl.SslContext fetcherTls;
    /** The node's newest applied image, which may be ahead of the last one handed to this manager. */
    private volatile Supplier<MetadataImage> newestImage = () -> lastImage;

    public ReplicaManager(int nodeId, Path logsDir, LogConfig defaults, Clock clock, ReplicationConfig replication)
            throws IOException {
        this.nodeId = nodeId;
        this.logsDir = logsDir;
        this.defaults = defaults;
        this.clock = clock;
        this.replication = replication;
        Files.createDirectories(logsDir);
    }

    /** The directory holding one folder per hosted partition replica (Kafka's log dir). */
    public Path logsDir() {
        return logsDir;
    }

    /** Makes this node's fetchers use mutual TLS with {@code tls} (call before the first image). */
    public void setInterNodeTls(io.tributary.metadata.InterNodeTls tls) {
        this.fetcherTls = tls == null ? null : ReplicationTls.client(tls);
    }

    /** Wires the controller: ISR changes go through {@code channel}; fetches carry this broker's epoch. */
    public void setController(IsrChannel channel, LongSupplier epoch) {
        this.isrChannel = channel;
        this.brokerEpoch = epoch;
    }

    /** Told that a write, truncation or fsync of a hosted log failed: see {@link #setDiskFailureHandler}. */
    @FunctionalInterface
    public interface DiskFailureHandler {
        void diskFailed(PartitionId partition, IOException error);
    }

    /**
     * What to do when a write, truncation or fsync of a hosted log fails while the node runs
     * ({@link PartitionLog#setDiskFailureHandler}): the log's files are then in an unknown state. The node halts
     * (Kafka halts a broker whose last log directory went offline); by default (tests) the failure is only logged
     * and counted. Call before the first image.
     */
    public void setDiskFailureHandler(DiskFailureHandler handler) {
        this.diskFailureHandler = java.util.Objects.requireNonNull(handler, "handler");
    }

    /** Write, truncation and fsync failures of hosted logs while the node ran (not counting those while closing). */
    public long diskFailures() {
        return diskFailures.get();
    }

    private void diskFailed(PartitionId id, IOException error) {
        if (closing) {
            return;
        }
        diskFailures.incrementAndGet();
        log.error("node={} a write, truncation or fsync of {} failed: its files are in an unknown state", nodeId, id,
                error);
        diskFailureHandler.diskFailed(id, error);
    }

    /**
     * {@code log.flush.interval.messages}: each log fsyncs after an append that leaves this many messages or more not
     * yet fsynced, before the append is acknowledged ({@link Long#MAX_VALUE}, Kafka's default: never). Call before the
     * first image.
     */
    public void setFlushIntervalMessages(long messages) {
        if (messages < 1) {
            throw new IllegalArgumentException("log.flush.interval.messages must be >= 1, got " + messages);
        }
        this.flushIntervalMessages = messages;
    }

    /**
     * Starts retention checks, periodic flushes of the recovery point (none at {@code log.flush.interval.ms}
     * {@link Long#MAX_VALUE}, Kafka's default), producer expiration (all three on the
     * {@code log-maintenance} thread, one at a time) and ISR checks.
     */
    public void startMaintenance(LogMaintenanceConfig maintenance) {
        long retentionMs = maintenance.retentionCheckIntervalMs();
        background.scheduleWithFixedDelay(this::applyRetention, retentionMs, retentionMs, TimeUnit.MILLISECONDS);
        long flushMs = maintenance.flushIntervalMs();
        if (flushMs != Long.MAX_VALUE) {
            background.scheduleWithFixedDelay(this::flushAll, flushMs, flushMs, TimeUnit.MILLISECONDS);
        }
        long expirationCheckMs = maintenance.producerIdExpirationCheckIntervalMs();
        long expirationMs = maintenance.producerIdExpirationMs();
        background.scheduleWithFixedDelay(() -> expireProducers(expirationMs), expirationCheckMs, expirationCheckMs,
                TimeUnit.MILLISECONDS);
        long isrCheckMs = Math.max(50, Math.min(500, replication.replicaLagTimeMaxMs() / 4));
        isrChecks.scheduleWithFixedDelay(this::checkIsrs, isrCheckMs, isrCheckMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Starts the log cleaner: every {@code log.cleaner.backoff.ms}, each hosted log whose {@code cleanup.policy} has
     * {@code compact} is compacted below this replica's high watermark if it is due ({@link PartitionLog#maybeClean}),
     * by {@code log.cleaner.threads} {@code log-cleaner-<n>} threads: each takes the dirtiest log no other thread is
     * compacting (as Kafka's cleaner manager), and its key map gets {@code log.cleaner.dedupe.buffer.size / threads}.
     * Every replica compacts its own copy: followers replicate
     * the leader's appends, not its cleaned segments, and each replica keeps every key's latest value below its high
     * watermark. The cleaner's reads and writes, over all logs, are bounded by
     * {@code log.cleaner.io.max.bytes.per.second} ({@link CleanerIoThrottler}, one for the node as in Kafka).
     */
    public synchronized void startCleaner(LogCleanerConfig config) {
        staticCleanerConfig = config;
        applyCleanerConfig(withDynamicCleanerConfigs(config, lastImage));
    }

    /**
     * The node's cleaner settings with its dynamic {@code log.cleaner.threads} and
     * {@code log.cleaner.io.max.bytes.per.second} (KIP-226) applied; a value that does not parse is ignored (the
     * controller validated it).
     */
    private LogCleanerConfig withDynamicCleanerConfigs(LogCleanerConfig config, MetadataImage image) {
        Map<String, String> dynamic = DynamicBrokerConfigs.effective(image, nodeId);
        try {
            return new LogCleanerConfig(config.enabled(), config.backoffMs(), config.dedupeBufferBytes(),
                    Double.parseDouble(dynamic.getOrDefault("log.cleaner.io.max.bytes.per.second",
                            Double.toString(config.ioMaxBytesPerSecond()))),
                    Integer.parseInt(dynamic.getOrDefault("log.cleaner.threads", Integer.toString(config.threads()))
                            .trim()));
        } catch (IllegalArgumentException e) {
            log.warn("node={} ignores its dynamic log cleaner configs {}: {}", nodeId, dynamic, e.getMessage());
            return config;
        }
    }

    /**
     * Runs the cleaner with {@code config}, replacing the running one if it differs: the old threads finish the
     * clean they are in (a log is cleaned by one thread at a time, see {@link #cleaning}) and start no other.
     */
    private void applyCleanerConfig(LogCleanerConfig config) {
        if (!config.enabled() || config.equals(runningCleanerConfig)) {
            return;
        }
        ScheduledExecutorService previous = cleaner;
        if (previous != null) {
            previous.shutdown();
            log.info("node={} restarts the log cleaner: threads={} ioMaxBytesPerSecond={}", nodeId,
                    config.threads(), config.ioMaxBytesPerSecond());
        }
        runningCleanerConfig = config;
        CleanerThrottle throttle = new CleanerIoThrottler(config.ioMaxBytesPerSecond(), CleanerIoThrottler.SYSTEM);
        AtomicInteger threadNumber = new AtomicInteger();
        ScheduledExecutorService threads = Executors.newScheduledThreadPool(config.threads(), r -> {
            Thread t = new Thread(r, "log-cleaner-" + threadNumber.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        cleaner = threads;
        long mapBytes = config.dedupeBufferBytes() / config.threads();
        for (int i = 0; i < config.threads(); i++) {
            threads.scheduleWithFixedDelay(() -> cleanAll(mapBytes, throttle), config.backoffMs(), config.backoffMs(),
                    TimeUnit.MILLISECONDS);
        }
    }

    /** The cleaner settings now in use (with the dynamic ones), or null before {@link #startCleaner}. */
    public synchronized LogCleanerConfig cleanerConfig() {
        return runningCleanerConfig;
    }

    /** One thread's pass: every compacted log no other thread holds, the dirtiest (as last seen) first. */
    private void cleanAll(long mapBytes, CleanerThrottle throttle) {
        List<Partition> compacted = new ArrayList<>();
        for (Partition p : partitions.values()) {
            PartitionLog partitionLog = p.log();
            if (partitionLog != null && partitionLog.compaction().compact()) {
                compacted.add(p);
            }
        }
        compacted.sort(Comparator.comparingInt((Partition p) -> p.log().dirtyPercent()).reversed());
        for (Partition p : compacted) {
            if (!cleaning.add(p.id())) {
                continue; // another cleaner thread has it
            }
            try {
                if (!cleanOne(p, mapBytes, throttle)) {
                    return; // interrupted: closing
                }
            } finally {
                cleaning.remove(p.id());
            }
        }
    }

    /** Compacts {@code p} if it is due; false if interrupted (the node is closing). */
    private boolean cleanOne(Partition p, long mapBytes, CleanerThrottle throttle) {
        PartitionLog partitionLog = p.log();
        try {
            // Below the high watermark, and below every open transaction (its records may still be aborted)
            long upTo = Math.min(p.highWatermark(), partitionLog.logEndOffset());
            upTo = Math.min(upTo, partitionLog.firstUnstableOffset(p.highWatermark()).orElse(upTo));
            PartitionLog.CleanResult result = partitionLog.maybeClean(upTo, clock.millis(), mapBytes, throttle);
            if (result.segmentsCleaned() > 0) {
                cleanerRuns.incrementAndGet();
                cleanerBytesRead.addAndGet(result.bytesBefore());
                cleanerBytesRemoved.addAndGet(result.bytesBefore() - result.bytesAfter());
            }
        } catch (InterruptedException e) {
            // close(): shutdownNow woke the throttle; the clean stopped without swapping more in.
            Thread.currentThread().interrupt();
            return false;
        } catch (IOException | RuntimeException e) {
            log.error("node={} compaction failed on {}", nodeId, p.id(), e);
        }
        return true;
    }

    /** Compaction passes that rewrote at least one segment. */
    public long cleanerRuns() {
        return cleanerRuns.get();
    }

    /** Bytes of segments compaction rewrote. */
    public long cleanerBytesRead() {
        return cleanerBytesRead.get();
    }

    /** Bytes compaction removed (rewritten segments' bytes before minus after). */
    public long cleanerBytesRemoved() {
        return cleanerBytesRemoved.get();
    }

    /**
     * A topic's configs on top of this node's dynamic topic defaults (KIP-226: the topic's override, then this
     * broker's dynamic config, then the cluster-wide dynamic default; the node's file and Kafka's defaults below).
     */
    private Map<String, String> withDynamicDefaults(TopicImage topic) {
        Map<String, String> dynamic = dynamicTopicDefaults;
        if (dynamic.isEmpty()) {
            return topic.configs();
        }
        Map<String, String> merged = new HashMap<>(dynamic);
        merged.putAll(topic.configs());
        return merged;
    }

    /** A topic's cleanup settings: Kafka's defaults, the dynamic broker defaults, the topic's overrides. */
    private CompactionConfig compactionConfig(TopicImage topic) {
        return orDefault(() -> CompactionConfig.DEFAULTS.withOverrides(withDynamicDefaults(topic)),
                () -> CompactionConfig.DEFAULTS.withOverrides(topic.configs()));
    }

    /** How a topic's leader appends are rewritten (LogAppendTime, compression.type, KIP-937 bounds). */
    private MessageFormatConfig messageFormat(TopicImage topic) {
        MessageFormatConfig base = messageFormatDefaults;
        return orDefault(() -> base.withOverrides(withDynamicDefaults(topic)),
                () -> base.withOverrides(topic.configs()));
    }

    /**
     * The node's file values of {@code log.message.timestamp.type} and {@code compression.type} (the layer below the
     * dynamic ones); call before the first image.
     */
    public void setMessageFormatDefaults(MessageFormatConfig defaults) {
        this.messageFormatDefaults = java.util.Objects.requireNonNull(defaults);
    }

    /** The config a topic's logs use: the node's defaults, the dynamic broker defaults, the topic's overrides. */
    public LogConfig logConfig(TopicImage topic) {
        return orDefault(() -> defaults.withOverrides(withDynamicDefaults(topic)),
                () -> defaults.withOverrides(topic.configs()));
    }

    /** The node's log defaults with the dynamic broker configs applied: what a topic without overrides gets. */
    public LogConfig defaultLogConfig() {
        return orDefault(() -> defaults.withOverrides(dynamicTopicDefaults), () -> defaults);
    }

    /** The node's file and built-in log defaults, without the dynamic broker configs. */
    public LogConfig staticLogConfig() {
        return defaults;
    }

    /** This node's dynamic topic-config defaults by topic config name ({@link DynamicBrokerConfigs#topicDefaults}). */
    public Map<String, String> dynamicTopicDefaults() {
        return dynamicTopicDefaults;
    }

    /**
     * The controller validates dynamic values against the topic rules, but a dynamic value may still not combine
     * with a topic's own overrides (a dynamic min compaction lag above a topic's max lag): then the topic keeps
     * what it has without the dynamic layer, and the node says so, rather than failing to open the log.
     */
    private <T> T orDefault(Supplier<T> withDynamic, Supplier<T> without) {
        try {
            return withDynamic.get();
        } catch (IllegalArgumentException e) {
            log.warn("node={} ignores the dynamic broker configs for a topic: {}", nodeId, e.getMessage());
            return without.get();
        }
    }

    @Override
    public synchronized void onImage(MetadataImage previous, MetadataImage next) {
        Map<String, String> dynamic = DynamicBrokerConfigs.topicDefaults(next, nodeId);
        boolean dynamicChanged = !dynamic.equals(dynamicTopicDefaults);
        if (dynamicChanged) {
            log.info("node={} applies dynamic topic defaults {}", nodeId, dynamic);
            dynamicTopicDefaults = Map.copyOf(dynamic);
        }
        applyThrottles(next);
        if (staticCleanerConfig != null && !DynamicBrokerConfigs.effective(previous, nodeId)
                .equals(DynamicBrokerConfigs.effective(next, nodeId))) {
            applyCleanerConfig(withDynamicCleanerConfigs(staticCleanerConfig, next));
        }
        Map<PartitionId, Hosted> hosted = new LinkedHashMap<>();
        for (TopicImage topic : next.topics().values()) {
            for (PartitionImage p : topic.partitions()) {
                if (p.replicas().contains(nodeId)) {
                    hosted.put(new PartitionId(topic.name(), p.partition()), new Hosted(topic, p));
                }
            }
        }
        // Replicas of another incarnation of the topic (deleted and created again under the same name) go first:
        // the new incarnation's log lives in the same directory.
        for (Map.Entry<PartitionId, Partition> e : List.copyOf(partitions.entrySet())) {
            Hosted h = hosted.get(e.getKey());
            if (h == null || !h.topic().topicId().equals(e.getValue().topicId())) {
                removePartition(e.getKey(), next);
            }
        }
        openAll(hosted, next);
        long nowMs = clock.millis();
        for (Map.Entry<PartitionId, Hosted> e : hosted.entrySet()) {
            Partition current = partitions.get(e.getKey());
            if (current == null) {
                continue; // its directory belongs to another topic id; see openPartition
            }
            TopicImage topic = e.getValue().topic();
            PartitionImage p = e.getValue().partition();
            current.setMinInsyncReplicas(minInsyncFor(topic, p));
            if (dynamicChanged || previous.topic(topic.name()) == null
                    || !previous.topic(topic.name()).configs().equals(topic.configs())) {
                current.log().updateConfig(logConfig(topic));
                current.log().updateCompaction(compactionConfig(topic));
                current.log().updateMessageFormat(messageFormat(topic));
            }
            countChanges(previous.topic(topic.name()), p);
            applyRole(current, p, next, nowMs);
        }
        lastImage = next;
    }

    private record Hosted(TopicImage topic, PartitionImage partition) {
    }

    /**
     * Sets both replication throttles from {@code image}: the rates from this node's dynamic broker configs
     * ({@code leader/follower.replication.throttled.rate}, none if unset or unparsable), the throttled partitions
     * from every topic's {@code leader/follower.replication.throttled.replicas} entries naming this node.
     */
    private void applyThrottles(MetadataImage image) {
        Map<String, String> dynamic = DynamicBrokerConfigs.effective(image, nodeId);
        setRate(leaderQuota, dynamic.get(LEADER_THROTTLED_RATE));
        setRate(followerQuota, dynamic.get(FOLLOWER_THROTTLED_RATE));
        Map<String, Set<Integer>> leader = new HashMap<>();
        Map<String, Set<Integer>> follower = new HashMap<>();
        for (TopicImage topic : image.topics().values()) {
            addThrottled(leader, topic, LEADER_THROTTLED_REPLICAS);
            addThrottled(follower, topic, FOLLOWER_THROTTLED_REPLICAS);
        }
        if (!leader.equals(leaderQuota.throttled()) || !follower.equals(followerQuota.throttled())) {
            log.info("node={} throttles replication of {} as leader and {} as follower", nodeId, leader, follower);
        }
        leaderQuota.setThrottled(leader);
        followerQuota.setThrottled(follower);
    }

    private void setRate(ReplicationQuota quota, String value) {
        long rate = ReplicationQuota.UNLIMITED;
        if (value != null) {
            try {
                rate = Long.parseLong(value.trim());
            } catch (NumberFormatException e) {
                log.warn("node={} ignores its {} replication throttle {}: not a number", nodeId, quota.side(), value);
            }
        }
        if (rate != quota.bytesPerSecond()) {
            log.info("node={} {} replication throttle: {} bytes/s", nodeId, quota.side(),
                    rate == ReplicationQuota.UNLIMITED ? "none" : rate);
            quota.setBytesPerSecond(rate);
        }
    }

    private void addThrottled(Map<String, Set<Integer>> into, TopicImage topic, String config) {
        String value = topic.configs().get(config);
        if (value == null) {
            return;
        }
        try {
            Set<Integer> partitions = ReplicationQuota.parse(value, nodeId);
            if (!partitions.isEmpty()) {
                into.put(topic.name(), partitions);
            }
        } catch (IllegalArgumentException e) {
            log.warn("node={} ignores {}'s {}: {}", nodeId, topic.name(), config, e.getMessage());
        }
    }

    /** The leader side's replication throttle. */
    public ReplicationQuota leaderQuota() {
        return leaderQuota;
    }

    /** The follower side's replication throttle. */
    public ReplicationQuota followerQuota() {
        return followerQuota;
    }

    /**
     * Opens the logs of newly hosted partitions, several at a time: a restarted node opens (and recovers) all of
     * its logs at once, and one after another that took seconds.
     */
    private void openAll(Map<PartitionId, Hosted> hosted, MetadataImage image) {
        List<Map.Entry<PartitionId, Hosted>> toOpen = hosted.entrySet().stream()
                .filter(e -> !partitions.containsKey(e.getKey())).toList();
        if (toOpen.isEmpty()) {
            return;
        }
        List<CompletableFuture<Void>> opened = new ArrayList<>();
        for (Map.Entry<PartitionId, Hosted> e : toOpen) {
            opened.add(CompletableFuture.runAsync(() -> openPartition(e.getKey(), e.getValue().topic(),
                    e.getValue().partition(), image), logLoaders));
        }
        CompletableFuture.allOf(opened.toArray(CompletableFuture[]::new)).join();
    }

    /**
     * Counts what changed for a hosted partition since the previous image: a new leader epoch is a leader election;
     * on the leader, members leaving or joining the ISR are a shrink or an expand. Counting from the image catches
     * both this leader's accepted AlterPartitions and the controller's removal of fenced brokers.
     */
    private void countChanges(TopicImage before, PartitionImage next) {
        PartitionImage prior = before == null ? null : before.partition(next.partition());
        if (prior == null) {
            return;
        }
        if (prior.leaderEpoch() != next.leaderEpoch()) {
            leaderElections.incrementAndGet();
        }
        if (next.leader() == nodeId) {
            if (!next.isr().containsAll(prior.isr())) {
                isrShrinks.incrementAndGet();
            }
            if (!prior.isr().containsAll(next.isr())) {
                isrExpands.incrementAndGet();
            }
        }
    }

    /** ISR shrinks of partitions this node led when the image recorded them. */
    public long isrShrinks() {
        return isrShrinks.get();
    }

    /** ISR expands of partitions this node led when the image recorded them. */
    public long isrExpands() {
        return isrExpands.get();
    }

    /** Leader epoch changes seen in the image for partitions this node hosts. */
    public long leaderElections() {
        return leaderElections.get();
    }

    /** The last metadata image this replica manager applied. */
    public MetadataImage image() {
        return lastImage;
    }

    private void applyRole(Partition partition, PartitionImage next, MetadataImage image, long nowMs) {
        PartitionId id = partition.id();
        if (next.leader() == nodeId) {
            boolean wasLeader = partition.isLeader() && partition.leaderEpoch() == next.leaderEpoch();
            unfollow(id);
            partition.becomeLeader(next, nowMs).run();
            if (!wasLeader) {
                log.info("node={} leads {} in epoch {} from offset {}, ISR {}", nodeId, id, next.leaderEpoch(),
                        partition.log().logEndOffset(), next.isr());
            }
            wake(id);
            return;
        }
        boolean sameLeader = !partition.isLeader() && partition.image().leader() == next.leader()
                && partition.image().leaderEpoch() == next.leaderEpoch();
        partition.becomeFollower(next).run();
        if (next.leader() < 0) {
            unfollow(id);
        } else if (!sameLeader || !isFollowed(id, next.leader())) {
            follow(id, next, image);
        }
        wake(id);
    }

    private boolean isFollowed(PartitionId id, int leaderId) {
        ReplicaFetcher fetcher = fetchers.get(leaderId);
        return fetcher != null && fetcher.partitions().contains(id);
    }

    private void follow(PartitionId id, PartitionImage next, MetadataImage image) {
        unfollow(id);
        BrokerRegistration leader = image.brokers().get(next.leader());
        BrokerRegistration.BrokerEndpoint endpoint = leader == null ? null : leader.endpoints().stream()
                .filter(e -> e.name().equals(REPLICATION_ENDPOINT)).findFirst().orElse(null);
        if (endpoint == null) {
            log.warn("node={} cannot follow {}: leader {} has no replication endpoint", nodeId, id, next.leader());
            return;
        }
        ReplicaFetcher fetcher = fetchers.computeIfAbsent(next.leader(), leaderId -> new ReplicaFetcher(nodeId,
                leaderId, endpoint.host(), endpoint.port(), fetcherTls, fetcherLoops, this, fetcherScheduler,
                () -> brokerEpoch.getAsLong(), replication.fetchWaitMaxMs(), replication.fetchMaxBytes()));
        fetcher.set(id, next.leaderEpoch());
        log.info("node={} follows {} from leader {} in epoch {}", nodeId, id, next.leader(), next.leaderEpoch());
    }

    private void unfollow(PartitionId id) {
        for (ReplicaFetcher fetcher : List.copyOf(fetchers.values())) {
            fetcher.remove(id);
            if (fetcher.isEmpty()) {
                fetchers.remove(fetcher.leaderId());
                fetcher.close();
            }
        }
    }

    /**
     * Opens a hosted partition's log, unless its directory records another topic id: that is the log of another
     * incarnation of the topic. If that incarnation is known deleted its directory is deleted first; otherwise
     * (for example while replaying older metadata than the directory) the partition is left unopened and the
     * directory untouched, until an image names its topic id.
     */
    private void openPartition(PartitionId id, TopicImage topic, PartitionImage image, MetadataImage metadata) {
        Path dir = logsDir.resolve(id.dirName());
        try {
            Optional<UUID> recorded = PartitionMetadataFile.read(dir);
            if (recorded.isPresent() && !recorded.get().equals(topic.topicId())) {
                if (!metadata.isDeleted(recorded.get())) {
                    if (conflicting.add(id.dirName() + "/" + topic.topicId())) {
                        log.warn("node={} does not open {} for topic id {}: its directory holds topic id {}, which "
                                + "the metadata does not show deleted", nodeId, id, topic.topicId(), recorded.get());
                    }
                    return;
                }
                log.info("node={} deletes the log of {} of deleted topic id {} before topic id {} uses it", nodeId,
                        id, recorded.get(), topic.topicId());
                PartitionLog.deleteDirectory(dir);
            }
            conflicting.remove(id.dirName() + "/" + topic.topicId());
            if (recorded.isEmpty() || !recorded.get().equals(topic.topicId())) {
                PartitionMetadataFile.write(dir, topic.topicId());
            }
            PartitionLog partitionLog = PartitionLog.open(dir, logConfig(topic), clock);
            partitionLog.setFlushIntervalMessages(flushIntervalMessages);
            partitionLog.setFlushExecutor(background); // the roll flush, off the produce and fetch threads
            partitionLog.setDiskFailureHandler(error -> diskFailed(id, error));
            partitionLog.updateCompaction(compactionConfig(topic));
            partitionLog.updateMessageFormat(messageFormat(topic));
            // The image's role is applied right after; start as a follower of nobody.
            PartitionImage unassigned = new PartitionImage(image.partition(), image.replicas(), image.isr(),
                    PartitionImage.NO_LEADER, -1, image.partitionEpoch());
            Partition partition = new Partition(id, topic.topicId(), partitionLog, unassigned, nodeId,
                    minInsyncFor(topic, image));
            partitions.put(id, partition);
            log.info("node={} opened partition={} logEndOffset={}", nodeId, id, partitionLog.logEndOffset());
        } catch (IOException | RuntimeException e) {
            // One unreadable log must not stop the others: this replica stays offline (clients and followers get
            // errors for it) and the next image tries again.
            log.error("node={} cannot open the log of {}: the replica stays offline", nodeId, id, e);
        }
    }

    /**
     * Stops hosting a partition. Its log is deleted only on an explicit change for its topic id: the topic was
     * deleted, or it still exists and no longer names this node as a replica. A topic that is merely missing from
     * the image (a torn or stale image) keeps its log on disk; only the replica is closed.
     */
    private void removePartition(PartitionId id, MetadataImage image) {
        unfollow(id);
        Partition removed = partitions.remove(id);
        if (removed != null) {
            removed.becomeFollower(removed.image()).run();
            UUID topicId = removed.topicId();
            String deletion = deletionReason(image, topicId);
            try {
                if (deletion != null) {
                    deleteLater(removed.log());
                    log.info("node={} deleted partition={} ({})", nodeId, id, deletion);
                } else {
                    removed.log().close();
                    log.error("node={} closed partition={}: topic id {} is missing from the metadata at offset {} "
                            + "but not deleted; its log stays on disk", nodeId, id, topicId, image.offset());
                }
            } catch (IOException e) {
                log.error("node={} cannot delete or close the log of {}", nodeId, id, e);
            }
        }
        wake(id);
    }

    /**
     * Deletes a closed replica's log off the metadata thread, as Kafka does: the directory is renamed to
     * {@code <name>.<millis>-delete} at once (so a new incarnation of the topic can take the name, and the metadata
     * thread never waits on a large log's files), then deleted on the {@code log-deleter} thread. A directory so
     * renamed is deleted at the next start if the node stopped first ({@link #handleStrayLogs}). If the rename fails
     * the directory is deleted in place.
     */
    private void deleteLater(PartitionLog partitionLog) throws IOException {
        partitionLog.close();
        Path dir = partitionLog.dir();
        Path doomed = dir.resolveSibling(dir.getFileName() + "." + clock.millis() + DELETE_SUFFIX);
        try {
            Files.move(dir, doomed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            log.warn("node={} cannot rename {} for deletion ({}); deleting it in place", nodeId, dir, e.toString());
            PartitionLog.deleteDirectory(dir);
            return;
        }
        pendingDeletes.incrementAndGet();
        try {
            deleter.execute(() -> deleteRenamed(doomed));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            pendingDeletes.decrementAndGet(); // closing: the next start deletes it
        }
    }

    private void deleteRenamed(Path doomed) {
        try {
            PartitionLog.deleteDirectory(doomed);
        } catch (IOException | RuntimeException e) {
            log.error("node={} cannot delete {}; the next start tries again", nodeId, doomed, e);
        } finally {
            pendingDeletes.decrementAndGet();
        }
    }

    /** Replica logs renamed for deletion and not yet deleted. */
    public int pendingDeletes() {
        return pendingDeletes.get();
    }

    /**
     * Deals with partition directories this node does not host, once its image is current (the node has caught up
     * with the metadata): a directory of a topic id the metadata shows deleted, or of a topic that no longer names
     * this node as a replica, is deleted; any other (no topic id, or an id the metadata does not know) is renamed
     * aside to {@code <name>.<millis>-stray} and reported, never deleted.
     */
    public synchronized void handleStrayLogs() {
        Set<String> hostedDirs = new HashSet<>();
        partitions.keySet().forEach(id -> hostedDirs.add(id.dirName()));
        MetadataImage image = lastImage;
        try (Stream<Path> dirs = Files.list(logsDir)) {
            for (Path dir : dirs.toList()) {
                String name = dir.getFileName().toString();
                if (Files.isDirectory(dir) && name.endsWith(DELETE_SUFFIX)) {
                    // Renamed for deletion (the metadata had deleted it) before the node stopped
                    log.info("node={} deleting {}, renamed for deletion before the last stop", nodeId, name);
                    PartitionLog.deleteDirectory(dir);
                    continue;
                }
                if (!Files.isDirectory(dir) || !PARTITION_DIR.matcher(name).matches() || hostedDirs.contains(name)) {
                    continue;
                }
                Optional<UUID> topicId = readTopicId(dir);
                String deletion = topicId.map(id -> deletionReason(image, id)).orElse(null);
                if (deletion != null) {
                    log.info("node={} deleting stray log {} of topic id {} ({})", nodeId, name, topicId.get(),
                            deletion);
                    PartitionLog.deleteDirectory(dir);
                } else {
                    Path aside = dir.resolveSibling(name + "." + clock.millis() + "-stray");
                    Files.move(dir, aside);
                    strayLogDirs.incrementAndGet();
                    log.warn("node={} renamed unknown partition directory {} to {} (topic id {}): not in the "
                            + "metadata and not deleted; inspect it, then remove it by hand", nodeId, name,
                            aside.getFileName(), topicId.map(UUID::toString).orElse("not recorded"));
                }
            }
        } catch (IOException e) {
            log.error("node={} cannot check for stray logs in {}", nodeId, logsDir, e);
        }
    }

    /**
     * Why a log of {@code topicId} that this node no longer hosts may be deleted: the image shows the topic deleted,
     * or the topic still there (so without this node among its replicas). Null: the image does not know the topic id,
     * and its log is kept.
     */
    private static String deletionReason(MetadataImage image, UUID topicId) {
        if (image.isDeleted(topicId)) {
            return "topic deleted";
        }
        return image.topic(topicId) != null ? "no longer a replica" : null;
    }

    /** The topic's min.insync.replicas, else the dynamic broker default (an explicit value), else the node's. */
    private int minInsyncFor(TopicImage topic, PartitionImage partition) {
        return replication.minInsyncFor(withDynamicDefaults(topic).get("min.insync.replicas"),
                partition.replicas().size());
    }

    private Optional<UUID> readTopicId(Path dir) {
        try {
            return PartitionMetadataFile.read(dir);
        } catch (IOException e) {
            log.warn("node={} cannot read the topic id of {}: {}", nodeId, dir, e.getMessage());
            return Optional.empty();
        }
    }

    /** Partition directories renamed aside as stray since start. */
    public long strayLogDirs() {
        return strayLogDirs.get();
    }

    /**
     * The hosted replica of a partition. Throws NOT_LEADER_OR_FOLLOWER if the partition exists but this node holds
     * no replica of it (the client has stale metadata), UNKNOWN_TOPIC_OR_PARTITION if it does not exist.
     */
    public Partition partition(PartitionId id) {
        Partition p = partitions.get(id);
        if (p == null) {
            if (exists(lastImage, id) || exists(newestImage.get(), id)) {
                throw new ReplicaException(ReplicaError.NOT_LEADER_OR_FOLLOWER, "node " + nodeId
                        + " holds no replica of " + id);
            }
            throw new ReplicaException(ReplicaError.UNKNOWN_TOPIC_OR_PARTITION, "This server does not host " + id);
        }
        return p;
    }

    private static boolean exists(MetadataImage image, PartitionId id) {
        TopicImage topic = image.topic(id.topic());
        return topic != null && topic.partition(id.partition()) != null;
    }

    /**
     * Where the node's newest applied image comes from. A partition it shows that this manager does not host yet
     * (its image is still being published) is answered NOT_LEADER_OR_FOLLOWER, which clients retry, rather than
     * UNKNOWN_TOPIC_OR_PARTITION (Kafka's ReplicaManager consults its metadata cache the same way).
     */
    public void setNewestImage(Supplier<MetadataImage> newest) {
        this.newestImage = newest;
    }

    /**
     * Whether the node's newest image makes this node the leader of {@code id} in an epoch this manager has not taken
     * yet: the image is applied here after it is visible to clients (the log may still be opening), so a client told
     * by this node (or another) that it leads may ask before it does. A producer's requests are handled one at a
     * time per connection; answering the first NOT_LEADER_OR_FOLLOWER and appending the pipelined next would accept
     * its later sequence numbers before its first (a new producer's first batch is accepted at any sequence, as in
     * Kafka), and the first batch could then only retry until it expired. The produce path waits for this instead.
     */
    public boolean leadershipPending(PartitionId id) {
        TopicImage topic = newestImage.get().topic(id.topic());
        PartitionImage next = topic == null ? null : topic.partition(id.partition());
        if (next == null || next.leader() != nodeId) {
            return false;
        }
        Partition hosted = partitions.get(id);
        return hosted == null || !hosted.isLeader() || hosted.leaderEpoch() < next.leaderEpoch();
    }

    /** The slices of segment files open for consumers' fetches (their sends close them). */
    public io.tributary.storage.FileSlices fileSlices() {
        return fileSlices;
    }

    /** This node's replica of {@code id}, or null if it holds none. */
    public Partition hostedOrNull(PartitionId id) {
        return partitions.get(id);
    }

    public Collection<Partition> partitions() {
        return partitions.values();
    }

    /**
     * Appends client batches to a partition this node leads ({@link Partition#appendAsLeader}): the leadership and,
     * for acks=all ({@code requiredAcks == -1}), min.insync.replicas are checked atomically with the append, and the
     * outcome's future completes once the high watermark passes the batches. Log validation failures surface as
     * {@link io.tributary.storage.LogException}.
     */
    public AppendOutcome appendAsLeader(PartitionId id, int clientLeaderEpoch, ByteBuffer batches,
            int requiredAcks) {
        Partition p = partition(id);
        AppendOutcome outcome = append(p, clientLeaderEpoch, batches, requiredAcks);
        wakeOnProgress(p);
        return outcome;
    }

    /**
     * {@link #appendAsLeader}, but the fetches waiting on the partition are not woken: the caller adds it to
     * {@code toWake} and calls {@link #wakeAfterAppends} once the request's other partitions are appended too, as
     * Kafka completes delayed fetches after the whole produce request. A follower fetches every partition of a leader
     * in one request; woken after the first partition's append, it would get that one alone and need a round trip
     * for each of the others.
     */
    public AppendOutcome appendAsLeader(PartitionId id, int clientLeaderEpoch, ByteBuffer batches,
            int requiredAcks, Collection<Partition> toWake) {
        Partition p = partition(id);
        AppendOutcome outcome = append(p, clientLeaderEpoch, batches, requiredAcks);
        toWake.add(p);
        return outcome;
    }

    /** Wakes the fetches waiting on partitions appended to with {@code appendAsLeader(..., toWake)}. */
    public void wakeAfterAppends(Collection<Partition> appended) {
        for (Partition p : appended) {
            wakeOnProgress(p);
        }
    }

    private AppendOutcome append(Partition p, int clientLeaderEpoch, ByteBuffer batches, int requiredAcks) {
        try {
            return p.appendAsLeader(batches, clientLeaderEpoch, requiredAcks);
        } catch (IOException e) {
            log.error("node={} cannot append to {}", nodeId, p.id(), e);
            throw new ReplicaException(ReplicaError.KAFKA_STORAGE_ERROR, "disk error on " + p.id() + ": " + e);
        }
    }

    /** Writes a transaction marker as leader of {@code id} ({@link Partition#appendTransactionMarker}). */
    public AppendOutcome appendTransactionMarker(PartitionId id, long producerId, short producerEpoch,
            int coordinatorEpoch, boolean commit) {
        Partition p = partition(id);
        try {
            AppendOutcome outcome = p.appendTransactionMarker(producerId, producerEpoch, coordinatorEpoch, commit);
            wake(id);
            return outcome;
        } catch (IOException e) {
            log.error("node={} cannot append a transaction marker to {}", nodeId, id, e);
            throw new ReplicaException(ReplicaError.KAFKA_STORAGE_ERROR, "disk error on " + id + ": " + e);
        }
    }

    /**
     * A future completed when any of the partitions moves past the position the caller saw (consumers: the high
     * watermark; followers: the log end offset), or after {@code timeoutMs}. Never blocks.
     */
    public CompletableFuture<Void> awaitAppend(Map<PartitionId, Long> seen, long timeoutMs) {
        return await(seen, timeoutMs, Partition::highWatermark, consumerWatchers);
    }

    /** A follower fetch's wait (leader side): until a partition's log end passes what it has, or the timeout. */
    CompletableFuture<Void> await(Map<PartitionId, Long> seen, long timeoutMs, ToLongFunction<Partition> position) {
        return await(seen, timeoutMs, position, watchers);
    }

    private CompletableFuture<Void> await(Map<PartitionId, Long> seen, long timeoutMs,
            ToLongFunction<Partition> position, Map<PartitionId, Set<CompletableFuture<Void>>> watchers) {
        CompletableFuture<Void> waiter = new CompletableFuture<>();
        fetchWaiters.incrementAndGet();
        // Added and removed atomically per partition, so that a partition's entry goes away with its last waiter
        // (the map holds only partitions with a fetch waiting, never every partition ever fetched, deleted or not)
        // and a waiter is never added to a set just dropped from the map.
        for (PartitionId id : seen.keySet()) {
            watchers.compute(id, (k, set) -> {
                Set<CompletableFuture<Void>> waiting = set != null ? set : ConcurrentHashMap.newKeySet();
                waiting.add(waiter);
                return waiting;
            });
        }
        // Completed by an append, by the timeout or by the caller: the waiter leaves every set it is in.
        waiter.whenComplete((v, e) -> {
            fetchWaiters.decrementAndGet();
            seen.keySet().forEach(id -> watchers.computeIfPresent(id, (k, set) -> {
                set.remove(waiter);
                return set.isEmpty() ? null : set;
            }));
        });
        // Re-check after registering, so that a change between the caller's read and now is not missed.
        for (Map.Entry<PartitionId, Long> s : seen.entrySet()) {
            Partition p = partitions.get(s.getKey());
            if (p == null || position.applyAsLong(p) > s.getValue()) {
                waiter.complete(null);
                return waiter;
            }
        }
        return timeouts.completeOnTimeout(waiter, null, timeoutMs);
    }

    /** The timer of the node's waits: fetches' here, acks=all produces' in the Kafka listener. */
    public WaitTimeouts timeouts() {
        return timeouts;
    }

    /** Fetches waiting for an append now (long polls); each leaves on its append, its timeout or its caller. */
    public int fetchWaiters() {
        return fetchWaiters.get();
    }

    /** Partitions with at least one fetch waiting on them (entries leave with their last waiter). */
    int watchedPartitions() {
        return watchers.size() + consumerWatchers.size();
    }

    /** acks=all produce batches waiting for the high watermark now, on every partition this node leads. */
    public int commitWaiters() {
        int count = 0;
        for (Partition p : partitions.values()) {
            count += p.commitWaiterCount();
        }
        return count;
    }

    /** Wakes every fetch (consumers' and followers') waiting on this partition: its role or replicas changed. */
    void wake(PartitionId id) {
        wake(watchers, id);
        wake(consumerWatchers, id);
    }

    /**
     * After an append or a follower fetch: wakes the followers' fetches waiting on the partition, and the consumers'
     * only if its high watermark moved since they were last woken (a consumer reads up to it, so an append that
     * leaves it in place, as every acks=all append on a replicated partition does, has nothing for them; nor has a
     * follower fetch that does not move it). A consumer registering meanwhile re-checks the high watermark itself.
     */
    private void wakeOnProgress(Partition p) {
        wake(watchers, p.id());
        if (p.highWatermarkMovedSinceLastWake()) {
            wake(consumerWatchers, p.id());
        }
    }

    private static void wake(Map<PartitionId, Set<CompletableFuture<Void>>> watchers, PartitionId id) {
        Set<CompletableFuture<Void>> waiting = watchers.get(id);
        if (waiting != null && !waiting.isEmpty()) {
            for (CompletableFuture<Void> f : List.copyOf(waiting)) {
                f.complete(null);
            }
        }
    }

    /** Called by the leader-side fetch handling when a follower's fetch may have moved a high watermark. */
    void onHighWatermarkMaybeMoved(Partition p, Completions completed) {
        completed.run();
        wakeOnProgress(p);
    }

    long nowMs() {
        return clock.millis();
    }

    int nodeId() {
        return nodeId;
    }

    private void checkIsrs() {
        long nowMs = clock.millis();
        Map<Integer, BrokerRegistration> brokers = lastImage.brokers();
        for (Partition p : partitions.values()) {
            maybeChangeIsr(p, brokers, nowMs);
        }
    }

    /**
     * {@link #maybeChangeIsr} for a follower's fetch that caught it up: run on the {@code isr-check} thread, since the
     * fetch is answered on a network event loop and a proposal may wait for room in the metadata quorum's client.
     * At most one check per partition is queued.
     */
    void maybeChangeIsrLater(Partition p) {
        if (isrExpandsQueued.add(p.id())) {
            try {
                isrChecks.execute(() -> {
                    isrExpandsQueued.remove(p.id());
                    if (partitions.get(p.id()) == p) {
                        maybeChangeIsr(p, image().brokers(), clock.millis());
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                isrExpandsQueued.remove(p.id()); // closing
            }
        }
    }

    /** Waits until every ISR check queued so far has run (tests). */
    void awaitQueuedIsrChecks() throws Exception {
        isrChecks.submit(() -> { }).get(10, TimeUnit.SECONDS);
    }

    /**
     * Leader: asks the controller for the ISR change {@link Partition#isrChange} proposes, if any. Runs on the ISR
     * check thread: for the periodic checks, and for a fetch that caught up a follower outside the ISR (Kafka's
     * maybeExpandIsr, through {@link #maybeChangeIsrLater}), so that a restarted replica rejoins the ISR on that
     * fetch rather than at the next check.
     */
    void maybeChangeIsr(Partition p, Map<Integer, BrokerRegistration> brokers, long nowMs) {
        try {
            p.isrChange(brokers, nowMs, replication.replicaLagTimeMaxMs()).ifPresent(proposal -> {
                log.info("node={} asks to change the ISR of {} from {} to {} (partition epoch {})", nodeId,
                        p.id(), p.image().isr(), proposal.isr(), proposal.partitionEpoch());
                isrChannel.alterIsr(p.topicId(), p.id().partition(), proposal).whenComplete((result, error) -> {
                    IsrChangeResult outcome = error != null || result == null ? IsrChangeResult.UNKNOWN : result;
                    p.onIsrChangeResult(proposal, outcome, clock.millis(), ISR_CHANGE_RETRY_BACKOFF_MS).run();
                    wake(p.id());
                });
            });
        } catch (RuntimeException e) {
            log.warn("node={} ISR check of {} failed", nodeId, p.id(), e);
        }
    }

    private void applyRetention() {
        for (Partition p : partitions.values()) {
            if (background.isShutdown()) {
                return; // closing: the logs are closed next
            }
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

    /**
     * Forgets, on every hosted log, the idempotent producers whose last batch timestamp is at least
     * {@code expirationMs} old (Kafka's periodic {@code removeExpiredProducers}), so that producer state holds only
     * producers active within {@code producer.id.expiration.ms}.
     *
     * @return how many producer ids were forgotten
     */
    int expireProducers(long expirationMs) {
        int expired = 0;
        for (Partition p : partitions.values()) {
            try {
                expired += p.log().expireProducers(expirationMs);
            } catch (RuntimeException e) {
                log.error("node={} producer expiration failed on {}", nodeId, p.id(), e);
            }
        }
        if (expired > 0) {
            log.info("node={} expired {} idempotent producer ids idle for {} ms", nodeId, expired, expirationMs);
        }
        return expired;
    }

    /**
     * Idempotent producer ids held in the producer state of all hosted logs (Kafka's {@code ProducerIdCount}).
     * Partitions without a log (not opened yet, or being removed) are skipped: the gauge is read by the metrics
     * thread at any time and must not fail.
     */
    public long producerIdCount() {
        long count = 0;
        for (Partition p : partitions.values()) {
            PartitionLog partitionLog = p.log();
            if (partitionLog != null) {
                count += partitionLog.producerState().producerCount();
            }
        }
        return count;
    }

    /**
     * Heap held by the offset and time indexes of all hosted logs: 20 bytes per {@code index.interval.bytes} (4 KiB)
     * of log, up to twice that while an index grows (at most ~1% of the retained bytes).
     */
    public long indexHeapBytes() {
        long bytes = 0;
        for (Partition p : partitions.values()) {
            PartitionLog partitionLog = p.log();
            if (partitionLog != null) {
                bytes += partitionLog.indexHeapBytes();
            }
        }
        return bytes;
    }

    private void flushAll() {
        for (Partition p : partitions.values()) {
            if (background.isShutdown()) {
                return; // closing: closing the logs flushes them
            }
            try {
                p.log().flush();
            } catch (IOException | RuntimeException e) {
                log.error("node={} flush failed on {}", nodeId, p.id(), e);
            }
        }
    }

    /**
     * The node has begun to close: the threads it stops may be interrupted mid-write, so from now on a failed write,
     * truncation or fsync is not reported to the disk failure handler (the log still marks itself failed, and closes
     * without a clean-shutdown marker). Called first by the node's close, and by {@link #close}.
     */
    public void beginClose() {
        closing = true;
    }

    @Override
    public synchronized void close() {
        beginClose();
        // Not interrupted: an interrupt during a roll flush's fsync would close the segment's file under the log
        // (ClosedByInterruptException), and its close would then fail without the clean-shutdown marker.
        background.shutdown();
        ScheduledExecutorService cleanerThreads = cleaner;
        if (cleanerThreads != null) {
            cleanerThreads.shutdownNow();
        }
        isrChecks.shutdownNow();
        timeouts.close(); // waits still pending time out now, while the logs they read are open
        for (ReplicaFetcher fetcher : fetchers.values()) {
            fetcher.close();
        }
        fetchers.clear();
        fetcherScheduler.shutdownNow();
        fetcherLoops.close();
        logLoaders.shutdownNow();
        deleter.shutdown(); // queued deletes still run; any the process does not live to finish, the next start does
        awaitMaintenance();
        for (Partition p : partitions.values()) {
            try {
                p.log().close();
            } catch (IOException e) {
                log.error("node={} cannot close the log of {}", nodeId, p.id(), e);
            }
        }
        partitions.clear();
    }

    /**
     * The {@code log-maintenance} thread. At shutdown it drops what is queued (roll flushes, the next periodic runs)
     * and finishes what runs.
     */
    private static ScheduledThreadPoolExecutor maintenanceThread() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "log-maintenance");
            t.setDaemon(true);
            return t;
        });
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return executor;
    }

    /** Runs {@code task} on the {@code log-maintenance} thread, after what is queued there (tests hold the thread). */
    void executeOnMaintenanceThread(Runnable task) {
        background.execute(task);
    }

    /**
     * Waits for the running maintenance task (a roll flush, retention, a flush; the periodic ones stop between
     * partitions) to end, at most 30 s. Never interrupts it: an interrupt during file I/O closes the log's file under
     * it. After 30 s the logs are closed anyway: a flush or retention still running on one then finds it closed.
     * Queued tasks are dropped: closing the logs flushes them.
     */
    private void awaitMaintenance() {
        try {
            if (!background.awaitTermination(30, TimeUnit.SECONDS)) {
                log.warn("node={} log maintenance still running after 30 s: closing the logs under it", nodeId);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
