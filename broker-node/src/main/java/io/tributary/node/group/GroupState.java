package io.tributary.node.group;

/**
 * The lifecycle of a classic consumer group (Kafka's {@code ClassicGroupState}); each state carries the deadline
 * the coordinator's {@code onTick} acts on, so a state and its timer cannot disagree.
 *
 * <pre>
 * from                 to                   when
 * Empty                PreparingRebalance   a first member joins (waits group.initial.rebalance.delay.ms)
 * Empty                Dead                 DeleteGroups, or all its offsets expired
 * PreparingRebalance   CompletingRebalance  all members rejoined, or the rebalance timeout expired; generation + 1
 * PreparingRebalance   Empty                the join phase ends with no member left; generation + 1
 * CompletingRebalance  Stable               the leader's SyncGroup delivers the assignment
 * CompletingRebalance  PreparingRebalance   a member joins, leaves or expires, or a member never syncs
 * Stable               PreparingRebalance   the leader rejoins, a member rejoins with new metadata, joins, leaves,
 *                                           expires, or never syncs
 * any but Dead         Dead                 the group is deleted (the object is dropped)
 * (load)               Stable or Empty      a snapshot with or without members
 * </pre>
 *
 * <p>The names returned by {@link #kafkaName()} are the ones DescribeGroups and ListGroups report.
 */
public sealed interface GroupState {

    /** Kafka's name of the state, as DescribeGroups and ListGroups report it. */
    String kafkaName();

    /** True for the states a rebalance may start from (Kafka: PreparingRebalance's valid previous states). */
    default boolean canRebalance() {
        return this instanceof Empty || this instanceof Stable || this instanceof CompletingRebalance;
    }

    /** Fails loudly on a transition the table above does not allow: that is a coordinator bug. */
    default GroupState checkTransition(GroupState next) {
        boolean valid;
        if (next instanceof PreparingRebalance) {
            valid = canRebalance();
        } else if (next instanceof CompletingRebalance || next instanceof Empty) {
            valid = this instanceof PreparingRebalance;
        } else if (next instanceof Stable) {
            valid = this instanceof CompletingRebalance;
        } else {
            valid = !(this instanceof Dead);
        }
        if (!valid) {
            throw new IllegalStateException("invalid group state transition " + kafkaName() + " -> "
                    + next.kafkaName());
        }
        return next;
    }

    /** No members; offsets may remain. */
    record Empty() implements GroupState {
        @Override
        public String kafkaName() {
            return "Empty";
        }
    }

    /**
     * Waiting for members to (re)join until {@code joinDeadlineMs}. An initial rebalance (from Empty) keeps
     * extending its deadline by {@code group.initial.rebalance.delay.ms} while new members arrive, at most
     * {@code initialRemainingMs} more in total (Kafka's tryCompleteInitialRebalanceElseSchedule).
     */
    record PreparingRebalance(long joinDeadlineMs, boolean initial, int initialDelayMs, int initialRemainingMs)
            implements GroupState {
        @Override
        public String kafkaName() {
            return "PreparingRebalance";
        }
    }

    /** Join phase done; waiting for the leader's SyncGroup. Members that never sync are removed at the deadline. */
    record CompletingRebalance(long syncDeadlineMs) implements GroupState {
        @Override
        public String kafkaName() {
            return "CompletingRebalance";
        }
    }

    /**
     * Assignment distributed. Followers that have not sent SyncGroup by {@code syncDeadlineMs} are removed
     * ({@code Long.MAX_VALUE}: none pending).
     */
    record Stable(long syncDeadlineMs) implements GroupState {
        @Override
        public String kafkaName() {
            return "Stable";
        }
    }

    /** Deleted; terminal. */
    record Dead() implements GroupState {
        @Override
        public String kafkaName() {
            return "Dead";
        }
    }
}
