package io.tributary.node.group;

import java.util.List;
import java.util.Objects;

/**
 * A state change of the group coordinator that must survive a coordinator fail-over: the driver appends it to the
 * coordinator's {@code __consumer_offsets} partition (acks=all) and a new coordinator rebuilds its state from them
 * ({@link GroupCoordinator#load}). {@link GroupRecordCodec} owns the bytes.
 */
public sealed interface GroupRecord permits GroupRecord.OffsetCommitRecord, GroupRecord.OffsetTombstone,
        GroupRecord.GroupMetadataRecord, GroupRecord.GroupTombstone, ConsumerGroupRecord {

    String group();

    /** A committed offset; {@code leaderEpoch} -1 when unknown, {@code metadata} never null (Kafka: ""). */
    record OffsetCommitRecord(String group, String topic, int partition, long offset, int leaderEpoch,
            String metadata, long commitTimestampMs) implements GroupRecord {
        public OffsetCommitRecord {
            Objects.requireNonNull(group);
            Objects.requireNonNull(topic);
            Objects.requireNonNull(metadata);
        }
    }

    /** Deletes a committed offset (OffsetDelete, DeleteGroups, retention). */
    record OffsetTombstone(String group, String topic, int partition) implements GroupRecord {
        public OffsetTombstone {
            Objects.requireNonNull(group);
            Objects.requireNonNull(topic);
        }
    }

    /**
     * A snapshot of a group's membership after a generation's assignment (or after the group became Empty):
     * Kafka's GroupMetadataValue. {@code protocolType}, {@code protocol} and {@code leader} are null when unset;
     * {@code stateTimestampMs} is when the group entered its state (offsets retention of an Empty group counts from
     * it).
     */
    record GroupMetadataRecord(String group, String protocolType, String protocol, int generation, String leader,
            long stateTimestampMs, List<MemberRecord> members) implements GroupRecord {
        public GroupMetadataRecord {
            Objects.requireNonNull(group);
            members = List.copyOf(members);
        }
    }

    /** One member of a {@link GroupMetadataRecord}: its metadata for the group's selected protocol. */
    record MemberRecord(String memberId, String groupInstanceId, String clientId, String clientHost,
            int rebalanceTimeoutMs, int sessionTimeoutMs, byte[] metadata, byte[] assignment) {
        public MemberRecord {
            Objects.requireNonNull(memberId);
            Objects.requireNonNull(clientId);
            Objects.requireNonNull(clientHost);
            Objects.requireNonNull(metadata);
            Objects.requireNonNull(assignment);
        }
    }

    /** Deletes a group's metadata (DeleteGroups, or an Empty group whose offsets all expired). */
    record GroupTombstone(String group) implements GroupRecord {
        public GroupTombstone {
            Objects.requireNonNull(group);
        }
    }
}
