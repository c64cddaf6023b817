package io.tributary.replication;

import io.tributary.proto.replication.ReplicaFetchError;
import io.tributary.storage.EpochEndOffset;
import java.nio.ByteBuffer;

/**
 * The leader's answer for one partition of a follower fetch: an error, or the diverging epoch to truncate to
 * (KIP-320), or stored batches from the fetch offset; with the leader's high watermark and log start offset.
 *
 * @param divergingEpoch null unless the follower's log diverges
 * @param records whole stored batches, possibly empty; on a follower, a view of the buffer the answer was parsed
 *     into ({@link FetchAnswerMarshaller}), valid only while the answer is being applied: whoever needs the bytes
 *     later copies them
 */
public record FetchAnswer(ReplicaFetchError error, long highWatermark, long logStartOffset,
        EpochEndOffset divergingEpoch, ByteBuffer records) {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    public static FetchAnswer error(ReplicaFetchError error) {
        return new FetchAnswer(error, -1, -1, null, EMPTY);
    }

    static FetchAnswer outOfRange(long logStartOffset) {
        return new FetchAnswer(ReplicaFetchError.OFFSET_OUT_OF_RANGE, -1, logStartOffset, null, EMPTY);
    }

    static FetchAnswer diverging(EpochEndOffset epoch, long highWatermark, long logStartOffset) {
        return new FetchAnswer(ReplicaFetchError.NONE, highWatermark, logStartOffset, epoch, EMPTY);
    }

    static FetchAnswer records(ByteBuffer records, long highWatermark, long logStartOffset) {
        return new FetchAnswer(ReplicaFetchError.NONE, highWatermark, logStartOffset, null, records);
    }
}
