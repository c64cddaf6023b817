package io.tributary.node.group;

import java.util.List;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * What a TxnOffsetCommit decided: the offset commit records to append as ONE transactional batch of
 * {@code producerId} at {@code producerEpoch} (the log fences an older epoch), and the response to send once they
 * are durable (after {@link GroupCoordinator#replayTransactional} of each). Partitions that failed validation are
 * answered in the response and have no record. If the append fails, send {@link #failed(Errors)} instead.
 */
public record TxnOffsetCommitDecision(long producerId, short producerEpoch, List<GroupRecord> records,
        TxnOffsetCommitResponseData response) {

    public TxnOffsetCommitDecision {
        records = List.copyOf(records);
    }

    /**
     * The response when appending {@link #records} failed with {@code appendError}: every partition that was to be
     * committed gets Kafka's mapping of that error ({@link OffsetCommitDecision#clientError}); INVALID_PRODUCER_EPOCH
     * (the log fenced the producer) stays, which the client takes as fenced.
     */
    public TxnOffsetCommitResponseData failed(Errors appendError) {
        Errors error = OffsetCommitDecision.clientError(appendError);
        TxnOffsetCommitResponseData copy = response.duplicate();
        copy.topics().forEach(t -> t.partitions().forEach(p -> {
            if (p.errorCode() == Errors.NONE.code()) {
                p.setErrorCode(error.code());
            }
        }));
        return copy;
    }
}
