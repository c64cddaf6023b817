package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.replication.Partition;
import io.tributary.replication.PartitionId;
import io.tributary.storage.AbortedTxn;
import io.tributary.storage.FileSlices;
import io.tributary.storage.LogSliceRead;
import io.tributary.storage.RecordBatchHeader;
import io.tributary.storage.internal.KafkaRecords;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;

/**
 * Fetch v4-v18 for consumers (v13+ name topics by id). Reads stored batches below the high watermark, bounded by
 * the request's {@code max.bytes}, the node's {@code fetch.max.bytes}, the room left in the node's response memory
 * and each partition's limit, always returning at least the first batch of the first non-empty partition even if
 * larger (KIP-74). Long poll: with fewer than {@code min.bytes} available the
 * request waits, without holding a thread, until an append to one of its partitions or {@code max.wait.ms}.
 *
 * <p>Fetch sessions (KIP-227) are not kept: every response has session id 0, which tells clients to send full
 * fetch requests; an incremental request for a session is answered FETCH_SESSION_ID_NOT_FOUND.
 */
public final class FetchHandler implements ApiHandler {

    private final NodeServices node;

    public FetchHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.FETCH;
    }

    @Override
    public short minVersion() {
        return 4;
    }

    @Override
    public short maxVersion() {
        return 18;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        FetchRequestData request = (FetchRequestData) message;
        if (request.sessionId() != 0) {
            return CompletableFuture.completedFuture(new FetchResponseData()
                    .setErrorCode(Errors.FETCH_SESSION_ID_NOT_FOUND.code())
                    .setSessionId(0));
        }
        long deadlineNs = System.nanoTime() + Math.max(0, request.maxWaitMs()) * 1_000_000L;
        boolean byId = context.apiVersion() >= 13;
        boolean followerFetch = request.replicaId() >= 0
                || (request.replicaState() != null && request.replicaState().replicaId() >= 0);
        if (followerFetch && !node.allowedOnCluster(context, AclOperation.CLUSTER_ACTION)) {
            // As in Kafka, a fetch in a replica's name needs CLUSTER_ACTION; every partition is refused
            // (Tributary's own followers fetch over gRPC).
            List<FetchResponseData.FetchableTopicResponse> refused = new ArrayList<>();
            for (FetchRequestData.FetchTopic topic : request.topics()) {
                List<FetchResponseData.PartitionData> partitions = new ArrayList<>();
                topic.partitions().forEach(p -> partitions.add(error(p.partition(),
                        Errors.TOPIC_AUTHORIZATION_FAILED)));
                refused.add(new FetchResponseData.FetchableTopicResponse().setTopic(byId ? "" : topic.topic())
                        .setTopicId(byId ? topic.topicId() : Uuid.ZERO_UUID).setPartitions(partitions));
            }
            return CompletableFuture.completedFuture(new FetchResponseData().setErrorCode(Errors.NONE.code())
                    .setSessionId(0).setResponses(refused));
        }
        return attempt(context, request, byId, deadlineNs).thenApply(read -> {
            read.consumed().forEach((topic, counts) -> node.metrics().consumed(topic, counts[0], counts[1]));
            return read.response();
        });
    }

    /**
     * Closes the segment-file slices of a response that will not be sent (a long poll's earlier read): a sent one's
     * are closed by the connection once written.
     */
    private void release(FetchResponseData response) {
        for (FetchResponseData.FetchableTopicResponse topic : response.responses()) {
            for (FetchResponseData.PartitionData p : topic.partitions()) {
                FileSliceRecords.release(p.records());
            }
        }
    }

    /** Records in the whole batches of {@code batches}, from each header's last offset delta; no decoding. */
    static long recordCount(ByteBuffer batches) {
        long count = 0;
        int position = batches.position();
        int limit = batches.limit();
        while (position + RecordBatchHeader.HEADER_SIZE <= limit) {
            int size = RecordBatchHeader.LOG_OVERHEAD
                    + batches.getInt(position + RecordBatchHeader.BATCH_LENGTH_OFFSET);
            if (size < RecordBatchHeader.HEADER_SIZE || position + size > limit) {
                break;
            }
            count += batches.getInt(position + RecordBatchHeader.LAST_OFFSET_DELTA_OFFSET) + 1L;
            position += size;
        }
        return count;
    }

    private CompletableFuture<Read> attempt(RequestContext context, FetchRequestData request, boolean byId,
            long deadlineNs) {
        Map<PartitionId, Long> seen = new LinkedHashMap<>();
        Read read = read(context, request, byId, seen);
        long remainingMs = (deadlineNs - System.nanoTime()) / 1_000_000L;
        if (read.bytes >= request.minBytes() || read.hasError || remainingMs <= 0 || seen.isEmpty()
                || context.connection().isClosed()) {
            return CompletableFuture.completedFuture(read);
        }
        CompletableFuture<Void> waiting = node.replicas().awaitAppend(seen, remainingMs);
        // A client that went away stops the wait: its waiter does not stay until max.wait.ms.
        context.connection().onClose(() -> waiting.complete(null));
        return waiting.thenCompose(v -> {
            release(read.response); // read again below: this one is not sent
            return System.nanoTime() >= deadlineNs || context.connection().isClosed()
                    ? CompletableFuture.completedFuture(read(context, request, byId, new LinkedHashMap<>()))
                    : attempt(context, request, byId, deadlineNs);
        });
    }

    /**
     * One pass over the requested partitions: the response, its record bytes, whether a partition failed, and the
     * records and bytes read per topic name ({@code [records, bytes]}, for the consumed-records meters).
     */
    private record Read(FetchResponseData response, int bytes, boolean hasError, Map<String, long[]> consumed) {}

    /** A partition's answer and the records it carries. */
    private record PartitionRead(FetchResponseData.PartitionData data, long records) {}

    private Read read(RequestContext context, FetchRequestData request, boolean byId,
            Map<PartitionId, Long> seenHighWatermarks) {
        // Kafka's min(request max.bytes, fetch.max.bytes), and no more than the node's response memory has room for
        // (with none, KIP-74 still returns the first batch).
        long budgetBytes = Math.min(request.maxBytes() <= 0 ? Integer.MAX_VALUE : request.maxBytes(),
                Math.min(node.config().fetchMaxBytes(), node.memory().responseRoom()));
        int budget = (int) budgetBytes;
        int total = 0;
        boolean hasError = false;
        Map<String, long[]> consumed = new java.util.HashMap<>();
        List<FetchResponseData.FetchableTopicResponse> topics = new ArrayList<>();
        for (FetchRequestData.FetchTopic topic : request.topics()) {
            TopicImage image = byId
                    ? node.metadata().image().topic(KafkaIds.fromKafka(topic.topicId()))
                    : node.metadata().image().topic(topic.topic());
            List<FetchResponseData.PartitionData> partitions = new ArrayList<>();
            // READ is checked before existence, as in Kafka (an unknown topic id stays UNKNOWN_TOPIC_ID).
            String name = byId ? (image == null ? null : image.name()) : topic.topic();
            boolean allowed = name == null || node.allowedOnTopic(context, AclOperation.READ, name);
            for (FetchRequestData.FetchPartition p : topic.partitions()) {
                if (!allowed || image == null) {
                    partitions.add(error(p.partition(), !allowed ? Errors.TOPIC_AUTHORIZATION_FAILED
                            : byId ? Errors.UNKNOWN_TOPIC_ID : Errors.UNKNOWN_TOPIC_OR_PARTITION));
                    hasError = true;
                    continue;
                }
                PartitionId id = new PartitionId(image.name(), p.partition());
                int limit = Math.min(p.partitionMaxBytes(), Math.max(0, budget - total));
                boolean mayExceed = total == 0;
                PartitionRead partitionRead = readPartition(id, p, limit, mayExceed, seenHighWatermarks,
                        request.isolationLevel() == IsolationLevel.READ_COMMITTED.id());
                FetchResponseData.PartitionData data = partitionRead.data();
                if (data.errorCode() != Errors.NONE.code()) {
                    hasError = true;
                }
                if (data.records() != null && data.records().sizeInBytes() > 0) {
                    int bytes = data.records().sizeInBytes();
                    total += bytes;
                    long[] counts = consumed.computeIfAbsent(image.name(), t -> new long[2]);
                    counts[0] += partitionRead.records();
                    counts[1] += bytes;
                }
                partitions.add(data);
            }
            topics.add(new FetchResponseData.FetchableTopicResponse()
                    .setTopic(byId ? "" : topic.topic())
                    .setTopicId(byId ? topic.topicId() : Uuid.ZERO_UUID)
                    .setPartitions(partitions));
        }
        FetchResponseData response = new FetchResponseData()
                .setErrorCode(Errors.NONE.code())
                .setSessionId(0)
                .setResponses(topics);
        return new Read(response, total, hasError, consumed);
    }

    private PartitionRead readPartition(PartitionId id, FetchRequestData.FetchPartition p, int limitBytes,
            boolean mayExceedLimit, Map<PartitionId, Long> seenHighWatermarks, boolean readCommitted) {
        Partition partition;
        try {
            partition = node.replicas().partition(id);
            partition.checkLeader(p.currentLeaderEpoch());
        } catch (RuntimeException e) {
            return new PartitionRead(error(p.partition(), ErrorCodes.of(e)), 0);
        }
        long highWatermark = partition.highWatermark();
        long lastStable = Math.min(highWatermark, partition.lastStableOffset());
        long logStartOffset = partition.log().logStartOffset();
        FetchResponseData.PartitionData data = new FetchResponseData.PartitionData()
                .setPartitionIndex(p.partition())
                .setHighWatermark(highWatermark)
                .setLastStableOffset(lastStable)
                .setLogStartOffset(logStartOffset)
                .setPreferredReadReplica(-1);
        // Out of range is judged against the log end, as Kafka does: a consumer may be ahead of a new leader's high
        // watermark (it saw the old leader's) and then simply gets nothing until the high watermark catches up.
        if (p.fetchOffset() < logStartOffset || p.fetchOffset() > partition.log().logEndOffset()) {
            return new PartitionRead(data.setErrorCode(Errors.OFFSET_OUT_OF_RANGE.code()).setRecords(
                    MemoryRecords.EMPTY), 0);
        }
        if (limitBytes <= 0 && !mayExceedLimit) {
            seenHighWatermarks.put(id, highWatermark);
            return new PartitionRead(data.setErrorCode(Errors.NONE.code()).setRecords(MemoryRecords.EMPTY), 0);
        }
        FileSlices slices = node.replicas().fileSlices();
        LogSliceRead read = null;
        try {
            // A slice of the segment file, sent with sendfile (no copy of the records); read_committed: up to the
            // last stable offset, with the aborted transactions of what was read.
            read = partition.log().readSlice(p.fetchOffset(), Math.max(limitBytes, 1),
                    readCommitted ? lastStable : highWatermark, slices);
            if (!mayExceedLimit && read.sizeInBytes() > limitBytes) {
                release(read);
                read = null;
                seenHighWatermarks.put(id, highWatermark);
                return new PartitionRead(data.setErrorCode(Errors.NONE.code()).setRecords(MemoryRecords.EMPTY), 0);
            }
            if (readCommitted) {
                List<FetchResponseData.AbortedTransaction> aborted = new ArrayList<>();
                long readEnd = read.lastOffset() < 0 ? p.fetchOffset() : read.lastOffset() + 1;
                for (AbortedTxn txn : partition.log().abortedTransactions(p.fetchOffset(), readEnd)) {
                    aborted.add(new FetchResponseData.AbortedTransaction().setProducerId(txn.producerId())
                            .setFirstOffset(txn.firstOffset()));
                }
                data.setAbortedTransactions(aborted);
            } else {
                data.setAbortedTransactions(null); // as Kafka answers read_uncommitted
            }
        } catch (IOException e) {
            if (read != null) {
                release(read);
            }
            return new PartitionRead(error(p.partition(), Errors.KAFKA_STORAGE_ERROR), 0);
        } catch (RuntimeException e) {
            if (read != null) {
                release(read);
            }
            return new PartitionRead(error(p.partition(), ErrorCodes.of(e)), 0);
        }
        seenHighWatermarks.put(id, highWatermark);
        return new PartitionRead(data.setErrorCode(Errors.NONE.code()).setRecords(read.slice() != null
                ? new FileSliceRecords(read.slice()) : KafkaRecords.wrap(read.copied())), read.recordCount());
    }

    private static void release(LogSliceRead read) {
        if (read.slice() != null) {
            read.slice().release();
        }
    }

    private static FetchResponseData.PartitionData error(int partition, Errors error) {
        return new FetchResponseData.PartitionData()
                .setPartitionIndex(partition)
                .setErrorCode(error.code())
                .setHighWatermark(-1)
                .setLastStableOffset(-1)
                .setLogStartOffset(-1)
                .setPreferredReadReplica(-1)
                .setRecords(MemoryRecords.EMPTY);
    }
}
