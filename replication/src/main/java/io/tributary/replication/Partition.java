package io.tributary.replication;

import io.tributary.metadata.PartitionImage;
import io.tributary.replication.log.PartitionLog;
import java.util.UUID;

/**
 * A partition replica hosted on this node: its log and its role as the metadata names it. The role fields are
 * replaced by the replica manager when the metadata changes; the log lives as long as this node hosts the replica.
 *
 * <p>Today the node leads every partition it hosts alone (one replica), so the high watermark is the log end
 * offset; replication replaces that with the minimum log end offset over the ISR.
 */
public final class Partition {

    private final PartitionId id;
    private final UUID topicId;
    private final PartitionLog log;
    private volatile PartitionImage image;
    private final int localNodeId;

    Partition(PartitionId id, UUID topicId, PartitionLog log, PartitionImage image, int localNodeId) {
        this.id = id;
        this.topicId = topicId;
        this.log = log;
        this.image = image;
        this.localNodeId = localNodeId;
    }

    public PartitionId id() {
        return id;
    }

    public UUID topicId() {
        return topicId;
    }

    public PartitionLog log() {
        return log;
    }

    public PartitionImage image() {
        return image;
    }

    void update(PartitionImage next) {
        this.image = next;
    }

    public boolean isLeader() {
        return image.leader() == localNodeId;
    }

    public int leaderEpoch() {
        return image.leaderEpoch();
    }

    /** The offset below which records are committed and visible to consumers. */
    public long highWatermark() {
        return log.logEndOffset();
    }

    /**
     * Checks that this node leads the partition and that the client's view of the leader epoch (-1: none) is
     * current, as Kafka does for Produce, Fetch, ListOffsets and OffsetForLeaderEpoch (KIP-320).
     */
    public void checkLeader(int clientLeaderEpoch) {
        if (!isLeader()) {
            throw new ReplicaException(ReplicaError.NOT_LEADER_OR_FOLLOWER, "node " + localNodeId
                    + " does not lead " + id);
        }
        if (clientLeaderEpoch >= 0) {
            if (clientLeaderEpoch < image.leaderEpoch()) {
                throw new ReplicaException(ReplicaError.FENCED_LEADER_EPOCH, "leader epoch " + clientLeaderEpoch
                        + " is older than " + image.leaderEpoch());
            }
            if (clientLeaderEpoch > image.leaderEpoch()) {
                throw new ReplicaException(ReplicaError.UNKNOWN_LEADER_EPOCH, "leader epoch " + clientLeaderEpoch
                        + " is newer than " + image.leaderEpoch());
            }
        }
    }
}
