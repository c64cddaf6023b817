package io.tributary.metadata;

import io.tributary.proto.metadata.MetadataRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The controller's decisions for partition reassignments (KIP-455), after Kafka's KRaft controller
 * ({@code ReplicationControlManager.alterPartitionReassignments}, {@code PartitionReassignmentReplicas},
 * {@code PartitionReassignmentRevert}, {@code PartitionChangeBuilder}). Pure: image and request in, records out.
 *
 * <p>A reassignment to a target replica list moves the partition in three committed steps:
 * <ol>
 *   <li>Start (this class, {@link #alter}): {@code replicas = target + (current - target)},
 *       {@code adding = target - current}, {@code removing = current - target}. The adding replicas open the log
 *       and follow the leader; they count as replicas (they may join the ISR) but the high watermark moves over the
 *       ISR only, so they delay no acks=all produce.
 *   <li>Catch up: the leader adds each caught-up adding replica to the ISR through the ordinary AlterPartition.
 *   <li>Complete ({@link #maybeComplete}, called by {@link ControllerDecisions#alterPartition} for the ISR change
 *       that commits, and at the start itself): once every target replica is in the ISR, {@code replicas = target},
 *       {@code ISR = ISR ∩ target}, and a leader being removed hands over to the first live target replica in the
 *       ISR, with the leader epoch bumped. The removed replicas see themselves gone from the replicas of a topic that
 *       still exists, stop and delete their logs (Kafka's StopReplica with delete).
 * </ol>
 * Completion waits for <em>every</em> target replica in the ISR, where Kafka waits for the adding ones only: the
 * ISR never shrinks below the target's size on completion, so min.insync.replicas is never broken by a move (a
 * reassignment whose staying replica is down waits for it to return).
 *
 * <p>A new target while a reassignment is in progress starts from the current (extended) replica set, as Kafka
 * does. Cancelling ({@code null} target) reverts to {@code replicas - adding}, ISR ∩ that, a new leader if the
 * leader was an adding replica; refused (INVALID_REPLICA_ASSIGNMENT) if no ISR member would remain, which would need
 * an unclean election, and NO_REASSIGNMENT_IN_PROGRESS if there is nothing to cancel.
 */
public final class ReassignmentDecisions {

    private ReassignmentDecisions() {}

    /** One partition to reassign: {@code replicas} is the target, or null to cancel. */
    public record Target(String topic, int partition, List<Integer> replicas) {
        public Target {
            replicas = replicas == null ? null : List.copyOf(replicas);
        }
    }

    /** The answer for one partition. */
    public record Result(String topic, int partition, ControllerError error, String message) {}

    /** A partition with a reassignment in progress. */
    public record Ongoing(String topic, PartitionImage partition) {}

    /**
     * AlterPartitionReassignments: each partition decided on its own against the image the previous ones leave
     * (their records applied to a scratch image), answered one by one. A partition named twice is the broker's to
     * refuse before.
     */
    public static ControllerResult<List<Result>> alter(MetadataImage image, List<Target> targets) {
        return alter(image, targets, true);
    }

    /**
     * As {@link #alter(MetadataImage, List)}; without {@code allowReplicationFactorChange} (KIP-860) a target whose
     * size differs from the partition's replication factor (its replicas before any reassignment) is refused with
     * INVALID_REPLICATION_FACTOR.
     */
    public static ControllerResult<List<Result>> alter(MetadataImage image, List<Target> targets,
            boolean allowReplicationFactorChange) {
        List<MetadataRecord> records = new ArrayList<>();
        List<Result> results = new ArrayList<>();
        MetadataImage working = image;
        long offset = image.offset();
        for (Target t : targets) {
            ControllerResult<PartitionImage> one = alterOne(working, t, allowReplicationFactorChange);
            results.add(new Result(t.topic(), t.partition(), one.error(), one.message()));
            for (MetadataRecord record : one.records()) {
                records.add(record);
                working = working.apply(record, ++offset); // a scratch image: only the decisions matter
            }
        }
        return ControllerResult.of(records, results);
    }

    static ControllerResult<PartitionImage> alterOne(MetadataImage image, Target t,
            boolean allowReplicationFactorChange) {
        TopicImage topic = image.topic(t.topic());
        PartitionImage current = topic == null ? null : topic.partition(t.partition());
        if (current == null) {
            return ControllerResult.error(ControllerError.UNKNOWN_TOPIC_OR_PARTITION, "Unable to find partition "
                    + t.topic() + "-" + t.partition() + ".");
        }
        int replicationFactor = current.replicas().size() - current.addingReplicas().size();
        if (!allowReplicationFactorChange && t.replicas() != null && t.replicas().size() != replicationFactor) {
            return ControllerResult.error(ControllerError.INVALID_REPLICATION_FACTOR, "The replication factor is"
                    + " changed from " + replicationFactor + " to " + t.replicas().size());
        }
        ControllerResult<PartitionImage> next = t.replicas() == null ? cancel(image, t, current)
                : start(image, current, t.replicas());
        if (next.failed() || next.response() == null) {
            return next;
        }
        return ControllerResult.of(List.of(ControllerDecisions.replicasChange(topic, next.response())),
                next.response());
    }

    private static ControllerResult<PartitionImage> start(MetadataImage image, PartitionImage current,
            List<Integer> target) {
        String problem = assignmentProblem(image, target);
        if (problem != null) {
            return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, problem);
        }
        List<Integer> adding = target.stream().filter(r -> !current.replicas().contains(r)).toList();
        List<Integer> removing = current.replicas().stream().filter(r -> !target.contains(r)).toList();
        List<Integer> replicas = new ArrayList<>(target);
        replicas.addAll(removing);
        if (replicas.equals(current.replicas()) && adding.equals(current.addingReplicas())
                && removing.equals(current.removingReplicas())) {
            return ControllerResult.of(List.of(), null); // already the state asked for: nothing to write
        }
        PartitionImage started = new PartitionImage(current.partition(), replicas, current.isr(), current.leader(),
                current.leaderEpoch(), current.partitionEpoch() + 1, adding, removing);
        PartitionImage completed = maybeComplete(image, started);
        return ControllerResult.of(List.of(), completed != null ? completed : started);
    }

    private static ControllerResult<PartitionImage> cancel(MetadataImage image, Target t, PartitionImage current) {
        if (!current.isReassigning()) {
            return ControllerResult.error(ControllerError.NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in"
                    + " progress for topic " + t.topic() + " partition " + t.partition());
        }
        List<Integer> replicas = current.replicas().stream()
                .filter(r -> !current.addingReplicas().contains(r)).toList();
        List<Integer> isr = current.isr().stream().filter(replicas::contains).toList();
        if (isr.isEmpty()) {
            return ControllerResult.error(ControllerError.INVALID_REPLICA_ASSIGNMENT, "Unable to revert partition"
                    + " assignment for " + t.topic() + ":" + t.partition() + " because it would require an unclean"
                    + " leader election.");
        }
        int leader = replicas.contains(current.leader()) ? current.leader()
                : ControllerDecisions.firstLiveIsrReplica(image, replicas, isr, PartitionImage.NO_LEADER);
        int leaderEpoch = leader == current.leader() ? current.leaderEpoch() : current.leaderEpoch() + 1;
        return ControllerResult.of(List.of(), new PartitionImage(current.partition(), replicas, isr, leader,
                leaderEpoch, current.partitionEpoch() + 1, List.of(), List.of()));
    }

    /** Null if {@code target} is a valid replica list, else why not (Kafka's messages). */
    static String assignmentProblem(MetadataImage image, List<Integer> target) {
        if (target.isEmpty()) {
            return "The manual partition assignment includes an empty replica list.";
        }
        Set<Integer> distinct = new HashSet<>();
        for (int broker : target) {
            if (!distinct.add(broker)) {
                return "The manual partition assignment includes the broker " + broker + " more than once.";
            }
            if (!image.brokers().containsKey(broker)) {
                return "The manual partition assignment includes broker " + broker + ", but no such broker is"
                        + " registered.";
            }
        }
        return null;
    }

    /**
     * The completed form of a partition whose reassignment can complete, or null. {@code p} is the partition as it
     * is about to be written (its partition epoch already the next one); it completes once every target replica is
     * in its ISR and a live target replica can lead: {@code replicas = target}, {@code ISR = ISR ∩ target}, the
     * leader kept if it stays, else the first live target replica in the ISR with the leader epoch bumped.
     */
    public static PartitionImage maybeComplete(MetadataImage image, PartitionImage p) {
        if (!p.isReassigning()) {
            return null;
        }
        List<Integer> target = p.targetReplicas();
        if (!p.isr().containsAll(target)) {
            return null;
        }
        List<Integer> isr = p.isr().stream().filter(target::contains).toList();
        int leader = p.hasLeader() && target.contains(p.leader()) ? p.leader()
                : ControllerDecisions.firstLiveIsrReplica(image, target, isr, PartitionImage.NO_LEADER);
        if (leader == PartitionImage.NO_LEADER) {
            return null; // no live target replica to lead yet
        }
        int leaderEpoch = leader == p.leader() ? p.leaderEpoch() : p.leaderEpoch() + 1;
        return new PartitionImage(p.partition(), target, isr, leader, leaderEpoch, p.partitionEpoch(), List.of(),
                List.of());
    }

    /**
     * ListPartitionReassignments: the named partitions (or, with {@code all}, every partition) that have a
     * reassignment in progress, by topic name then partition; unknown ones are skipped, as Kafka does.
     */
    public static List<Ongoing> list(MetadataImage image, List<Target> partitions, boolean all) {
        List<Ongoing> ongoing = new ArrayList<>();
        if (all) {
            for (TopicImage topic : image.topics().values()) {
                for (PartitionImage p : topic.partitions()) {
                    if (p.isReassigning()) {
                        ongoing.add(new Ongoing(topic.name(), p));
                    }
                }
            }
            return ongoing;
        }
        for (Target t : partitions) {
            TopicImage topic = image.topic(t.topic());
            PartitionImage p = topic == null ? null : topic.partition(t.partition());
            if (p != null && p.isReassigning()) {
                ongoing.add(new Ongoing(topic.name(), p));
            }
        }
        return ongoing;
    }
}
