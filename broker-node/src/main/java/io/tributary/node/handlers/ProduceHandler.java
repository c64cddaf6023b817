package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.replication.AppendOutcome;
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
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND, and NOT_LEADER_OR_FOLLOWER if the leader epoch changes first. Transactional
 * produce is refused: transactions are not served.
 */
public final class ProduceHandler implements ApiHandler {

    private static final Logger log = LoggerFactory.getLogger(ProduceHandler.class);

    private final NodeServices node;

    public ProduceHandler(NodeServices node) {
        this.node = node;
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
        short acks = request.acks();
        // Kafka: a transactional producer needs WRITE on its transactional id (and on each topic, below).
        boolean transactionalAllowed = request.transactionalId() == null || node.allowed(context, AclOperation.WRITE,
                org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID, request.transactionalId());
        boolean byId = context.apiVersion() >= 13;
        ProduceResponseData.TopicProduceResponseCollection responses =
                new ProduceResponseData.TopicProduceResponseCollection();
        List<CompletableFuture<?>> pending = new ArrayList<>();
        for (ProduceRequestData.TopicProduceData topic : request.topicData()) {
            TopicImage image = byId
                    ? node.metadata().image().topic(KafkaIds.fromKafka(topic.topicId()))
                    : node.metadata().image().topic(topic.name());
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
                    Appended appended = append(new PartitionId(image.name(), p.index()), p, acks);
                    partitions.add(appended.response());
                    if (acks == -1 && appended.response().errorCode() == Errors.NONE.code()) {
                        pending.add(awaitCommitted(appended, Math.max(0, request.timeoutMs())));
                    }
                }
            }
            responses.add(new ProduceResponseData.TopicProduceResponse()
                    .setName(byId ? "" : topic.name())
                    .setTopicId(byId ? topic.topicId() : Uuid.ZERO_UUID)
                    .setPartitionResponses(partitions));
        }
        if (acks == 0) {
            return CompletableFuture.completedFuture(null);
        }
        ProduceResponseData data = new ProduceResponseData().setResponses(responses);
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).thenApply(v -> data);
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
    private CompletableFuture<Void> awaitCommitted(Appended appended, int timeoutMs) {
        ProduceResponseData.PartitionProduceResponse response = appended.response();
        return appended.committed().orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((v, error) -> {
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

    private Appended append(PartitionId id, ProduceRequestData.PartitionProduceData data, short acks) {
        ByteBuffer batches;
        try {
            batches = data.records() == null ? ByteBuffer.allocate(0) : KafkaRecords.unwrap(data.records());
        } catch (IllegalArgumentException e) {
            return new Appended(error(id.partition(), Errors.INVALID_RECORD, e.getMessage()), null);
        }
        try {
            int bytes = batches.remaining();
            AppendOutcome outcome = node.replicas().appendAsLeader(id, -1, batches, acks);
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
