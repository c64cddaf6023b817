package io.tributary.node.group;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.Uuid;
import org.junit.jupiter.api.Test;

/** The bytes of KIP-848 consumer group records: every type round-trips, and the layout is Kafka's. */
class ConsumerGroupRecordCodecTest {

    private static final Uuid T = new Uuid(1, 2);

    @Test
    void everyRecordAndTombstoneRoundTrips() {
        var partitions = ConsumerGroupRecord.copy(Map.of(T, Set.of(0, 3)));
        List<GroupRecord> records = List.of(
                new GroupEpoch("g", 7), new GroupEpoch("g", null),
                new SubscriptionMetadata("g", List.of(new TopicMetadata(T, "t", 6))),
                new SubscriptionMetadata("g", null),
                new MemberMetadata("g", "m", new MemberSubscription("i", null, "client", "/1.2.3.4",
                        List.of("a", "t"), null, 30_000, "range")),
                new MemberMetadata("g", "m", new MemberSubscription(null, "rack", "", "", List.of(), null, -1, null)),
                new MemberMetadata("g", "m", null),
                new TargetAssignmentEpoch("g", 7), new TargetAssignmentEpoch("g", null),
                new TargetAssignmentMember("g", "m", partitions), new TargetAssignmentMember("g", "m", null),
                new CurrentMemberAssignment("g", "m", new CurrentAssignment(7, 6,
                        MemberState.UNREVOKED_PARTITIONS, partitions, ConsumerGroupRecord.copy(Map.of(T, Set.of(1))))),
                new CurrentMemberAssignment("g", "m", null));
        for (GroupRecord r : records) {
            GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
            assertThat(GroupRecordCodec.decode(e.key(), e.value())).as("%s", r).isEqualTo(r);
        }
    }

    @Test
    void bytesAreKafkasLayout() {
        // ConsumerGroupMetadataKey: int16 type 3, int16-length group id; value: version 0, int32 epoch, no tags
        GroupRecordCodec.Encoded epoch = GroupRecordCodec.encode(new GroupEpoch("g", 5));
        assertThat(HexFormat.of().formatHex(epoch.key())).isEqualTo("0003" + "0001" + "67");
        assertThat(HexFormat.of().formatHex(epoch.value())).isEqualTo("0000" + "00000005" + "00");
        // ConsumerGroupTargetAssignmentMemberValue: compact array of (uuid, compact int32 array, tags)
        GroupRecordCodec.Encoded target = GroupRecordCodec.encode(new TargetAssignmentMember("g", "m",
                new TreeMap<>(Map.of(T, new java.util.TreeSet<>(Set.of(4))))));
        assertThat(HexFormat.of().formatHex(target.key())).isEqualTo("0007" + "0001" + "67" + "0001" + "6d");
        assertThat(HexFormat.of().formatHex(target.value())).isEqualTo("0000" + "02"
                + "0000000000000001" + "0000000000000002" + "02" + "00000004" + "00" + "00");
    }

    @Test
    void anUnknownValueVersionFailsLoudly() {
        GroupRecordCodec.Encoded e = GroupRecordCodec.encode(new GroupEpoch("g", 5));
        byte[] value = e.value().clone();
        value[1] = 9;
        assertThatThrownBy(() -> GroupRecordCodec.decode(e.key(), value)).isInstanceOf(IllegalStateException.class);
    }
}
