package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.replication.AppendOutcome;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.storage.LogAppendResult;
import io.tributary.storage.LogException;
import io.tributary.storage.internal.KafkaRecords;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Produce v3-v13 (v13 names topics by id): appends each partition's record batches to the local leader log.
 * {@code acks=0} gets no response; {@code acks=1} is answered after the leader's append; {@code acks=all} after
 * the high watermark passes the batch (every member of the maximal ISR has it), without holding a thread, or
 * REQUEST_TIMED_OUT after the request's timeout. With an ISR smaller than min.insync.replicas, acks=all gets
 * NOT_ENOUGH_REPLICAS and nothing is appended; if the ISR falls below it while the batch waits, the answer is
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND, and NOT_LEADER_OR_FOLLOWER if the leader epoch changes first.
 *
 * <p>A request for a partition this node's metadata makes it the leader of, in an epoch its replica manager has not
 * taken yet (it applies an image after clients can see it, opening new logs first), waits for it to do so, at most
 * {@link #LEADERSHIP_WAIT_MAX_MS}; one for a topic or partition this node's metadata does not show yet (a client
 * told by a node ahead of this one) waits at most {@link #UNKNOWN_PARTITION_WAIT_MS} for it to appear. Both within
 * the request's timeout. A producer's requests on a connection are handled one at a time, so its pipelined batches
 * wait behind the first rather than being appended ahead of it: a new leader that refused an idempotent producer's
 * first batch and took the next (a new producer's first batch is accepted at any sequence, as in Kafka) left the
 * first retrying OUT_OF_ORDER_SEQUENCE_NUMBER until it expired.
 */
public final class ProduceHandler implements ApiHandler {

    private static final Logger log = LoggerFactory.getLogger(ProduceHandler.class);

    /** The longest a produce waits for this node to take a leadership its metadata already gives it. */
    static final long LEADERSHIP_WAIT_MAX_MS = 5_000;
    /** The longest a produce naming a topic or partition this node's metadata does not show waits for it. */
    static final long UNKNOWN_PARTITION_WAIT_MS = 1_000;

    private final NodeServices node;
    /** Where a request handled after waiting for the metadata goes on (not the thread that published it). */
    private final java.util.concurrent.Executor afterWait;

    public ProduceHandler(NodeServices node, java.util.concurrent.Executor afterWait) {
        this.node = node;
        this.afterWait = afterWait;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.PRODUCE;
    }

    @Override
    public short minVersion() {
        return 3;
    }

    @Override
    public short maxVersion() {
        return 13;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        ProduceRequestData request = (ProduceRequestData) message;
        long timeoutMs = Math.max(0, request.timeoutMs());
        long waitMs = Math.min(timeoutMs, metadataWaitMs(context, request));
        if (waitMs <= 0) {
            return handleNow(context, request, timeoutMs);
        }
        long startNs = System.nanoTime();
        long deadlineNs = startNs + TimeUnit.MILLISECONDS.toNanos(waitMs);
        return awaitMetadata(context, request, deadlineNs).thenComposeAsync(v -> {
            long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
            return handleNow(context, request, Math.max(0, timeoutMs - waited));
        }, afterWait);
    }

    /**
     * On the connection's network thread unless a partition of the request has {@code log.flush.interval.messages}
     * set (its append may fsync): an append to the page cache is short, and the io-thread hand-off and the one back
     * for the answer cost more than it on a small machine (docs/benchmarks.md). Waits (metadata, acks=all) are
     * futures either way; the work after a metadata wait runs on the io threads.
     */
    @Override
    public boolean runsOnNetworkThread(RequestContext context, ApiMessage message) {
        ProduceRequestData request = (ProduceRequestData) message;
        io.tributary.metadata.MetadataImage image = node.metadata().image();
        for (ProduceRequestData.TopicProduceData topic : request.topicData()) {
            TopicImage t = topicOf(image, context, topic);
            if (t == null) {
                continue;
            }
            for (ProduceRequestData.PartitionProduceData p : topic.partitionData()) {
                Partition local = node.replicas().hostedOrNull(new PartitionId(t.name(), p.index()));
                if (local != null && local.log().flushesOnAppend()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The request's topic in {@code image}, named by id from version 13 on, by name before; null if unknown. */
    private static TopicImage topicOf(io.tributary.metadata.MetadataImage image, RequestContext context,
            ProduceRequestData.TopicProduceData topic) {
        return namesTopicsById(context)
                ? image.topic(KafkaIds.fromKafka(topic.topicId()))
                : image.topic(topic.name());
    }

    /** Produce names its topics by id from version 13 on (KIP-516), by name before. */
    private static boolean namesTopicsById(RequestContext context) {
        return context.apiVersion() >= 13;
    }

    /**
     * How long the request may wait for this node's metadata (see the class comment): the longest wait any of its
     * partitions calls for, 0 when each can be answered now.
     */
    private long metadataWaitMs(RequestContext context, ProduceRequestData request) {
        io.tributary.metadata.MetadataImage image = node.metadata().image();
        long wait = 0;
        for (ProduceRequestData.TopicProduceData topic : request.topicData()) {
            TopicImage t = topicOf(image, context, topic);
            for (ProduceRequestData.PartitionProduceData p : topic.partitionData()) {
                if (t == null || t.partition(p.index()) == null) {
                    wait = Math.max(wait, UNKNOWN_PARTITION_WAIT_MS);
                } else if (node.replicas().leadershipPending(new PartitionId(t.name(), p.index()))) {
                    wait = Math.max(wait, LEADERSHIP_WAIT_MAX_MS);
                }
            }
        }
        return wait;
    }

    /**
     * Completes (never exceptionally) once every partition of the request can be answered from what this node has
     * applied, or at {@code deadlineNs}: each step waits for the replica manager to act on the newest image, or,
     * when it has, for the next image.
     */
    private CompletableFuture<Void> awaitMetadata(RequestContext context, ProduceRequestData request,
            long deadlineNs) {
        long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
        if (remainingMs <= 0 || metadataWaitMs(context, request) == 0) {
            return CompletableFuture.completedFuture(null);
        }
        long newest = node.metadata().image().offset();
        long target = node.replicas().image().offset() < newest ? newest : newest + 1;
        return node.metadata().awaitOffset(target, remainingMs).handle((v, e) -> null)
                .thenCompose(v -> awaitMetadata(context, request, deadlineNs));
    }

    private CompletableFuture<ApiMessage> handleNow(RequestContext context, ProduceRequestData request,
            long timeoutMs) {
        ProduceResponseData.TopicProduceResponseCollection responses =
                new ProduceResponseData.TopicProduceResponseCollection();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        // Fetches waiting on the partitions appended to are woken once all of them are (see appendAsLeader)
        List<Partition> appendedTo = new ArrayList<>();
        try {
            appendAll(context, request, timeoutMs, responses, pending, appendedTo);
        } finally {
            node.replicas().wakeAfterAppends(appendedTo);
        }
        if (request.acks() == 0) {
            return CompletableFuture.completedFuture(null);
        }
        ProduceResponseData data = new ProduceResponseData().setResponses(responses);
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).thenApply(v -> data);
    }

    /** Appends each partition's batches, or answers why not; acks=all appends go to {@code pending}. */
    private void appendAll(RequestContext context, ProduceRequestData request, long timeoutMs,
            ProduceResponseData.TopicProduceResponseCollection responses, List<CompletableFuture<?>> pending,
            List<Partition> appendedTo) {
        short acks = request.acks();
        // Kafka: a transactional producer needs WRITE on its transactional id (and on each topic, below).
        boolean transactionalAllowed = request.transactionalId() == null || node.allowed(context, AclOperation.WRITE,
                org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID, request.transactionalId());
        boolean byId = namesTopicsById(context);
        io.tributary.metadata.MetadataImage metadata = node.metadata().image();
        for (ProduceRequestData.TopicProduceData topic : request.topicData()) {
            TopicImage image = topicOf(metadata, context, topic);
            List<ProduceResponseData.PartitionProduceResponse> partitions = new ArrayList<>();
            // Kafka checks WRITE before existence: an unauthorized client learns nothing about the topic.
            String name = byId ? (image == null ? null : image.name()) : topic.name();
            boolean allowed = name == null || node.allowedOnTopic(context, AclOperation.WRITE, name);
            for (ProduceRequestData.PartitionProduceData p : topic.partitionData()) {
                if (!allowed) {
                    partitions.add(error(p.index(), Errors.TOPIC_AUTHORIZATION_FAILED, null));
                } else if (name != null && org.apache.kafka.common.internals.Topic.isInternal(name)) {
                    // As Kafka: only the node itself writes its internal topics, whatever the ACLs say.
                    partitions.add(error(p.index(), Errors.INVALID_TOPIC_EXCEPTION,
                            "Cannot append to internal topic " + name));
                } else if (image == null) {
                    partitions.add(error(p.index(), byId ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION,
                            null));
                } else if (acks != 0 && acks != 1 && acks != -1) {
                    partitions.add(error(p.index(), Errors.INVALID_REQUIRED_ACKS, "acks must be -1, 0 or 1"));
                } else if (!transactionalAllowed) {
                    partitions.add(error(p.index(), Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null));
                } else if (request.transactionalId() == null && hasTransactionalBatch(p)) {
                    // Kafka: transactional records come with the transactional id they are authorized by.
                    partitions.add(error(p.index(), Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                            "transactional records without a transactional id"));
                } else {
                    Appended appended = append(new PartitionId(image.name(), p.index()), p, acks, appendedTo);
                    partitions.add(appended.response());
                    if (acks == -1 && appended.response().errorCode() == Errors.NONE.code()) {
                        pending.add(awaitCommitted(appended, timeoutMs));
                    }
                }
            }
            responses.add(new ProduceResponseData.TopicProduceResponse()
                    .setName(byId ? "" : topic.name())
                    .setTopicId(byId ? topic.topicId() : Uuid.ZERO_UUID)
                    .setPartitionResponses(partitions));
        }
    }

    /** Whether a batch of the partition's records is marked transactional (a malformed one is left to the log). */
    private static boolean hasTransactionalBatch(ProduceRequestData.PartitionProduceData p) {
        if (!(p.records() instanceof org.apache.kafka.common.record.MemoryRecords records)) {
            return false;
        }
        try {
            for (org.apache.kafka.common.record.MutableRecordBatch batch : records.batches()) {
                if (batch.isTransactional()) {
                    return true;
                }
            }
        } catch (RuntimeException malformed) {
            return false; // the log's validation answers it (CORRUPT_MESSAGE / INVALID_RECORD)
        }
        return false;
    }

    /** acks=all: completes once the batch is committed, turning a timeout or lost leadership into its error. */
    private CompletableFuture<Void> awaitCommitted(Appended appended, long timeoutMs) {
        ProduceResponseData.PartitionProduceResponse response = appended.response();
        return node.replicas().timeouts().orTimeout(appended.committed(), timeoutMs).handle((v, error) -> {
            if (error != null) {
                Throwable cause = error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
                if (cause instanceof TimeoutException) {
                    setError(response, Errors.REQUEST_TIMED_OUT, "the batch was not replicated to the ISR within "
                            + timeoutMs + " ms");
                } else if (cause instanceof RuntimeException re) {
                    setError(response, ErrorCodes.of(re), re.getMessage());
                }
            }
            return null;
        });
    }

    private static void setError(ProduceResponseData.PartitionProduceResponse response, Errors error,
            String message) {
        response.setErrorCode(error.code()).setErrorMessage(message).setBaseOffset(-1);
    }

    /** A partition's answer and, if it was appended, when it is committed (null otherwise). */
    private record Appended(ProduceResponseData.PartitionProduceResponse response,
            CompletableFuture<Void> committed) {}

    private Appended append(PartitionId id, ProduceRequestData.PartitionProduceData data, short acks,
            List<Partition> appendedTo) {
        ByteBuffer batches;
        try {
            batches = data.records() == null ? ByteBuffer.allocate(0) : KafkaRecords.unwrap(data.records());
        } catch (IllegalArgumentException e) {
            return new Appended(error(id.partition(), Errors.INVALID_RECORD, e.getMessage()), null);
        }
        try {
            int bytes = batches.remaining();
            AppendOutcome outcome = node.replicas().appendAsLeader(id, -1, batches, acks, appendedTo);
            LogAppendResult result = outcome.result();
            node.metrics().produced(id.topic(), result.lastOffset() - result.firstOffset() + 1, bytes);
            ProduceResponseData.PartitionProduceResponse response = new ProduceResponseData.PartitionProduceResponse()
                    .setIndex(id.partition())
                    .setErrorCode(Errors.NONE.code())
                    .setBaseOffset(result.firstOffset())
                    .setLogAppendTimeMs(result.logAppendTimeMs())
                    .setLogStartOffset(node.replicas().partition(id).log().logStartOffset());
            return new Appended(response, outcome.committed());
        } catch (RuntimeException e) {
            Errors error = ErrorCodes.of(e);
            log.debug("produce to {} refused: {} {}", id, error, e.getMessage());
            ProduceResponseData.PartitionProduceResponse response = error(id.partition(), error, e.getMessage());
            if (e instanceof LogException le && !le.recordIndexes().isEmpty()) {
                // KIP-467: the records at fault, so that a client fails those and may retry the others
                for (int index : le.recordIndexes()) {
                    response.recordErrors().add(new ProduceResponseData.BatchIndexAndErrorMessage()
                            .setBatchIndex(index).setBatchIndexErrorMessage(e.getMessage()));
                }
            }
            return new Appended(response, null);
        }
    }

    private static ProduceResponseData.PartitionProduceResponse error(int partition, Errors error, String message) {
        return new ProduceResponseData.PartitionProduceResponse()
                .setIndex(partition)
                .setErrorCode(error.code())
                .setErrorMessage(message)
                .setBaseOffset(-1)
                .setLogAppendTimeMs(-1)
                .setLogStartOffset(-1);
    }
}
