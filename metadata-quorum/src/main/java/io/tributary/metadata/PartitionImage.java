package io.tributary.metadata;

import java.util.List;

/**
 * One partition as the committed metadata describes it: its replica set, in-sync replicas, leader and epochs.
 * Immutable.
 *
 * @param leader the leader's broker id, or {@link #NO_LEADER} when the partition is offline
 * @param leaderEpoch bumped on every leader change
 * @param partitionEpoch bumped on every change to this partition (leader or ISR); a change is applied only if it
 *     names the next partition epoch, so stale changes are rejected
 */
public record PartitionImage(
        int partition, List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch, int partitionEpoch) {

    public static final int NO_LEADER = -1;

    public PartitionImage {
        replicas = List.copyOf(replicas);
        isr = List.copyOf(isr);
    }

    public boolean hasLeader() {
        return leader != NO_LEADER;
    }
}
