package io.tributary.metadata;

import java.util.List;

/**
 * The metadata quorum as one voter sees it, for DescribeQuorum ({@code kafka-metadata-quorum describe --status}):
 * the leader and its term (Kafka's leader epoch), the commit index as the high watermark, and per voter its log end
 * offset and when the leader last heard from it (known on the leader only; -1 elsewhere).
 */
public record QuorumDescription(int leaderId, long term, long highWatermark, List<Voter> voters) {

    public io.tributary.proto.metadata.DescribeQuorumResponse toProto() {
        var proto = io.tributary.proto.metadata.DescribeQuorumResponse.newBuilder().setLeaderId(leaderId)
                .setTerm(term).setHighWatermark(highWatermark);
        for (Voter v : voters) {
            proto.addVoters(io.tributary.proto.metadata.QuorumVoterState.newBuilder().setId(v.id())
                    .setLogEndOffset(v.logEndOffset()).setLastFetchTimestamp(v.lastFetchTimestamp())
                    .setLastCaughtUpTimestamp(v.lastCaughtUpTimestamp()));
        }
        return proto.build();
    }

    public static QuorumDescription fromProto(io.tributary.proto.metadata.DescribeQuorumResponse proto) {
        return new QuorumDescription(proto.getLeaderId(), proto.getTerm(), proto.getHighWatermark(),
                proto.getVotersList().stream().map(v -> new Voter(v.getId(), v.getLogEndOffset(),
                        v.getLastFetchTimestamp(), v.getLastCaughtUpTimestamp())).toList());
    }

    /** One voter: {@code logEndOffset} and the timestamps (epoch ms) are -1 when unknown. */
    public record Voter(int id, long logEndOffset, long lastFetchTimestamp, long lastCaughtUpTimestamp) {
    }
}
