package io.tributary.metadata;

import java.util.List;

/**
 * One partition as the committed metadata describes it: its replica set, in-sync replicas, leader and epochs, and
 * the reassignment in progress, if any. Immutable.
 *
 * <p>During a reassignment (KIP-455) {@code replicas} is the target followed by the current replicas that are not in
 * it; {@code addingReplicas} are the target replicas that were not replicas before, {@code removingReplicas} the
 * replicas not in the target. Both are empty when no reassignment is in progress.
 *
 * @param leader the leader's broker id, or {@link #NO_LEADER} when the partition is offline
 * @param leaderEpoch bumped on every leader change
 * @param partitionEpoch bumped on every change to this partition (leader, ISR or replicas); a change is applied only
 *     if it names the next partition epoch, so stale changes are rejected
 */
public record PartitionImage(
        int partition, List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch, int partitionEpoch,
        List<Integer> addingReplicas, List<Integer> removingReplicas) {

    public static final int NO_LEADER = -1;

    public PartitionImage {
        replicas = List.copyOf(replicas);
        isr = List.copyOf(isr);
        addingReplicas = List.copyOf(addingReplicas);
        removingReplicas = List.copyOf(removingReplicas);
    }

    /** A partition without a reassignment in progress. */
    public PartitionImage(int partition, List<Integer> replicas, List<Integer> isr, int leader, int leaderEpoch,
            int partitionEpoch) {
        this(partition, replicas, isr, leader, leaderEpoch, partitionEpoch, List.of(), List.of());
    }

    public boolean hasLeader() {
        return leader != NO_LEADER;
    }

    /** Whether a reassignment is in progress (replicas are being added or removed). */
    public boolean isReassigning() {
        return !addingReplicas.isEmpty() || !removingReplicas.isEmpty();
    }

    /** The replicas the reassignment in progress moves to (all replicas if none is in progress). */
    public List<Integer> targetReplicas() {
        return removingReplicas.isEmpty() ? replicas
                : replicas.stream().filter(r -> !removingReplicas.contains(r)).toList();
    }

    /** This partition with another leader, ISR and epochs; the replicas and the reassignment stay. */
    public PartitionImage with(List<Integer> isr, int leader, int leaderEpoch, int partitionEpoch) {
        return new PartitionImage(partition, replicas, isr, leader, leaderEpoch, partitionEpoch, addingReplicas,
                removingReplicas);
    }
}
