package io.tributary.node.group;

import static io.tributary.node.coordinator.CoordinatorBytes.readShortString;
import static io.tributary.node.coordinator.CoordinatorBytes.writeShortString;

import io.tributary.node.coordinator.CoordinatorBytes;
import io.tributary.node.group.ConsumerGroupRecord.CurrentAssignment;
import io.tributary.node.group.ConsumerGroupRecord.CurrentMemberAssignment;
import io.tributary.node.group.ConsumerGroupRecord.GroupEpoch;
import io.tributary.node.group.ConsumerGroupRecord.MemberMetadata;
import io.tributary.node.group.ConsumerGroupRecord.MemberState;
import io.tributary.node.group.ConsumerGroupRecord.MemberSubscription;
import io.tributary.node.group.ConsumerGroupRecord.SubscriptionMetadata;
import io.tributary.node.group.ConsumerGroupRecord.TargetAssignmentEpoch;
import io.tributary.node.group.ConsumerGroupRecord.TargetAssignmentMember;
import io.tributary.node.group.ConsumerGroupRecord.TopicMetadata;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;

/**
 * The bytes of {@link ConsumerGroupRecord}s, in Kafka's layout (its group coordinator's generated
 * {@code ConsumerGroup*Key}/{@code ConsumerGroup*Value} messages, which are not in kafka-clients), so a log written
 * here reads as Kafka's would. Big-endian.
 *
 * <pre>
 * key   := int16 keyType, then non-flexible fields; string := int16 length, UTF-8
 *          3 ConsumerGroupMetadata, 4 ConsumerGroupPartitionMetadata, 6 ConsumerGroupTargetAssignmentMetadata:
 *              string groupId
 *          5 ConsumerGroupMemberMetadata, 7 ConsumerGroupTargetAssignmentMember, 8 ConsumerGroupCurrentMemberAssignment:
 *              string groupId, string memberId
 * value := null (tombstone), or int16 version (0), then flexible fields and an empty tagged-field section (uvarint
 *          0) after each struct; compact string := uvarint (length + 1, 0 = null), UTF-8; compact array :=
 *          uvarint (count + 1), elements; uuid := 16 bytes
 *          3: int32 epoch
 *          4: [topicId uuid, topicName string, numPartitions int32, partitionMetadata [] (written empty)]
 *          5: instanceId string?, rackId string?, clientId string, clientHost string, subscribedTopicNames [string],
 *             subscribedTopicRegex string?, rebalanceTimeoutMs int32, serverAssignor string?
 *          6: int32 assignmentEpoch
 *          7: [topicId uuid, partitions [int32]]
 *          8: int32 memberEpoch, int32 previousMemberEpoch, int8 state, assignedPartitions [topicId uuid,
 *             partitions [int32]], partitionsPendingRevocation [same]
 * </pre>
 *
 * A reader seeing an unknown value version or a tagged field fails loudly (a newer writer's log must not be misread).
 */
final class ConsumerGroupRecordCodec {

    static final short GROUP_EPOCH_KEY = 3;
    static final short SUBSCRIPTION_METADATA_KEY = 4;
    static final short MEMBER_METADATA_KEY = 5;
    static final short TARGET_ASSIGNMENT_EPOCH_KEY = 6;
    static final short TARGET_ASSIGNMENT_MEMBER_KEY = 7;
    static final short CURRENT_MEMBER_ASSIGNMENT_KEY = 8;
    private static final short VALUE_VERSION = 0;
    /** Bound on any array or string length read (a corrupt length must not allocate gigabytes). */
    private static final int MAX_LENGTH = 1 << 20;

    private ConsumerGroupRecordCodec() {
    }

    static boolean handles(short keyType) {
        return keyType >= GROUP_EPOCH_KEY && keyType <= CURRENT_MEMBER_ASSIGNMENT_KEY;
    }

    static GroupRecordCodec.Encoded encode(ConsumerGroupRecord record) {
        if (record instanceof GroupEpoch r) {
            return new GroupRecordCodec.Encoded(key(GROUP_EPOCH_KEY, r.group(), null),
                    r.epoch() == null ? null : value(out -> out.writeInt(r.epoch())));
        }
        if (record instanceof SubscriptionMetadata r) {
            return new GroupRecordCodec.Encoded(key(SUBSCRIPTION_METADATA_KEY, r.group(), null),
                    r.topics() == null ? null : value(out -> {
                        uvarint(out, r.topics().size() + 1);
                        for (TopicMetadata t : r.topics()) {
                            uuid(out, t.topicId());
                            compactString(out, t.topicName());
                            out.writeInt(t.numPartitions());
                            uvarint(out, 1); // no partition metadata (racks)
                            uvarint(out, 0);
                        }
                    }));
        }
        if (record instanceof MemberMetadata r) {
            MemberSubscription s = r.subscription();
            return new GroupRecordCodec.Encoded(key(MEMBER_METADATA_KEY, r.group(), r.memberId()),
                    s == null ? null : value(out -> {
                        compactString(out, s.instanceId());
                        compactString(out, s.rackId());
                        compactString(out, s.clientId());
                        compactString(out, s.clientHost());
                        uvarint(out, s.subscribedTopicNames().size() + 1);
                        for (String topic : s.subscribedTopicNames()) {
                            compactString(out, topic);
                        }
                        compactString(out, s.subscribedTopicRegex());
                        out.writeInt(s.rebalanceTimeoutMs());
                        compactString(out, s.serverAssignor());
                    }));
        }
        if (record instanceof TargetAssignmentEpoch r) {
            return new GroupRecordCodec.Encoded(key(TARGET_ASSIGNMENT_EPOCH_KEY, r.group(), null),
                    r.assignmentEpoch() == null ? null : value(out -> out.writeInt(r.assignmentEpoch())));
        }
        if (record instanceof TargetAssignmentMember r) {
            return new GroupRecordCodec.Encoded(key(TARGET_ASSIGNMENT_MEMBER_KEY, r.group(), r.memberId()),
                    r.partitions() == null ? null : value(out -> partitions(out, r.partitions())));
        }
        CurrentMemberAssignment r = (CurrentMemberAssignment) record;
        CurrentAssignment a = r.assignment();
        return new GroupRecordCodec.Encoded(key(CURRENT_MEMBER_ASSIGNMENT_KEY, r.group(), r.memberId()),
                a == null ? null : value(out -> {
                    out.writeInt(a.memberEpoch());
                    out.writeInt(a.previousMemberEpoch());
                    out.writeByte(a.state().value);
                    partitions(out, a.assignedPartitions());
                    partitions(out, a.partitionsPendingRevocation());
                }));
    }

    static ConsumerGroupRecord decode(short keyType, DataInputStream k, byte[] value) throws IOException {
        String group = readShortString(k);
        switch (keyType) {
            case GROUP_EPOCH_KEY -> {
                return new GroupEpoch(group, value == null ? null : valueStream(value).readInt());
            }
            case SUBSCRIPTION_METADATA_KEY -> {
                if (value == null) {
                    return new SubscriptionMetadata(group, null);
                }
                DataInputStream v = valueStream(value);
                int count = arrayLength(v);
                List<TopicMetadata> topics = new ArrayList<>(Math.min(count, 1024));
                for (int i = 0; i < count; i++) {
                    Uuid id = uuid(v);
                    String name = compactString(v);
                    int partitions = v.readInt();
                    int racks = arrayLength(v);
                    for (int j = 0; j < racks; j++) { // partition metadata: partition int32, racks [string]
                        v.readInt();
                        int rackCount = arrayLength(v);
                        for (int x = 0; x < rackCount; x++) {
                            compactString(v);
                        }
                        noTaggedFields(v);
                    }
                    noTaggedFields(v);
                    topics.add(new TopicMetadata(id, name, partitions));
                }
                return new SubscriptionMetadata(group, topics);
            }
            case MEMBER_METADATA_KEY -> {
                String memberId = readShortString(k);
                if (value == null) {
                    return new MemberMetadata(group, memberId, null);
                }
                DataInputStream v = valueStream(value);
                String instanceId = compactString(v);
                String rackId = compactString(v);
                String clientId = compactString(v);
                String clientHost = compactString(v);
                int count = arrayLength(v);
                List<String> topics = new ArrayList<>(Math.min(count, 1024));
                for (int i = 0; i < count; i++) {
                    topics.add(compactString(v));
                }
                String regex = compactString(v);
                int rebalanceTimeoutMs = v.readInt();
                String assignor = compactString(v);
                return new MemberMetadata(group, memberId, new MemberSubscription(instanceId, rackId,
                        clientId == null ? "" : clientId, clientHost == null ? "" : clientHost, topics, regex,
                        rebalanceTimeoutMs, assignor));
            }
            case TARGET_ASSIGNMENT_EPOCH_KEY -> {
                return new TargetAssignmentEpoch(group, value == null ? null : valueStream(value).readInt());
            }
            case TARGET_ASSIGNMENT_MEMBER_KEY -> {
                String memberId = readShortString(k);
                return new TargetAssignmentMember(group, memberId,
                        value == null ? null : partitions(valueStream(value)));
            }
            default -> {
                String memberId = readShortString(k);
                if (value == null) {
                    return new CurrentMemberAssignment(group, memberId, null);
                }
                DataInputStream v = valueStream(value);
                int memberEpoch = v.readInt();
                int previousMemberEpoch = v.readInt();
                MemberState state = MemberState.of(v.readByte());
                SortedMap<Uuid, SortedSet<Integer>> assigned = partitions(v);
                SortedMap<Uuid, SortedSet<Integer>> pending = partitions(v);
                return new CurrentMemberAssignment(group, memberId,
                        new CurrentAssignment(memberEpoch, previousMemberEpoch, state, assigned, pending));
            }
        }
    }

    // ---- writing ----

    private static byte[] key(short type, String group, String memberId) {
        return CoordinatorBytes.write(out -> {
            out.writeShort(type);
            writeShortString(out, group);
            if (memberId != null) {
                writeShortString(out, memberId);
            }
        });
    }

    /** The value version, the fields, and the top-level struct's empty tagged-field section. */
    private static byte[] value(CoordinatorBytes.Writer fields) {
        return CoordinatorBytes.write(out -> {
            out.writeShort(VALUE_VERSION);
            fields.write(out);
            uvarint(out, 0);
        });
    }

    private static void uvarint(DataOutputStream out, int value) throws IOException {
        CoordinatorBytes.writeUnsignedVarint(out, value);
    }

    private static void compactString(DataOutputStream out, String s) throws IOException {
        CoordinatorBytes.writeCompactString(out, s);
    }

    private static void uuid(DataOutputStream out, Uuid id) throws IOException {
        out.writeLong(id.getMostSignificantBits());
        out.writeLong(id.getLeastSignificantBits());
    }

    private static void partitions(DataOutputStream out, SortedMap<Uuid, SortedSet<Integer>> partitions)
            throws IOException {
        uvarint(out, partitions.size() + 1);
        for (var e : partitions.entrySet()) {
            uuid(out, e.getKey());
            uvarint(out, e.getValue().size() + 1);
            for (int p : e.getValue()) {
                out.writeInt(p);
            }
            uvarint(out, 0);
        }
    }

    // ---- reading ----

    private static DataInputStream valueStream(byte[] value) throws IOException {
        DataInputStream v = new DataInputStream(new ByteArrayInputStream(value));
        short version = v.readShort();
        if (version != VALUE_VERSION) {
            throw new IllegalStateException("unknown consumer group record value version " + version);
        }
        return v;
    }

    private static int arrayLength(DataInputStream in) throws IOException {
        int n = readUvarint(in) - 1;
        if (n < 0 || n > MAX_LENGTH) {
            throw new IllegalStateException("bad array length " + n + " in a consumer group record");
        }
        return n;
    }

    private static String compactString(DataInputStream in) throws IOException {
        return CoordinatorBytes.readCompactString(in);
    }

    private static int readUvarint(DataInputStream in) throws IOException {
        return CoordinatorBytes.readUnsignedVarint(in);
    }

    private static Uuid uuid(DataInputStream in) throws IOException {
        return new Uuid(in.readLong(), in.readLong());
    }

    private static void noTaggedFields(DataInputStream in) throws IOException {
        int tagged = readUvarint(in);
        if (tagged != 0) {
            throw new IllegalStateException("unexpected tagged fields in a consumer group record");
        }
    }

    private static SortedMap<Uuid, SortedSet<Integer>> partitions(DataInputStream in) throws IOException {
        int topics = arrayLength(in);
        TreeMap<Uuid, SortedSet<Integer>> out = new TreeMap<>();
        for (int i = 0; i < topics; i++) {
            Uuid id = uuid(in);
            int count = arrayLength(in);
            TreeSet<Integer> partitions = new TreeSet<>();
            for (int j = 0; j < count; j++) {
                partitions.add(in.readInt());
            }
            noTaggedFields(in);
            out.put(id, partitions);
        }
        return out;
    }
}
