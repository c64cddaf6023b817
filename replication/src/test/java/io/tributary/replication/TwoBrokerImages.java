package io.tributary.replication;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import java.util.List;
import java.util.UUID;

/** Metadata images for tests of partitions on brokers 1 (their leader, epoch 1) and 2. */
final class TwoBrokerImages {

    static final int LEADER = 1;
    static final int FOLLOWER = 2;

    private TwoBrokerImages() {}

    /** Broker 2 registered and unfenced; {@code tp} on replicas [1, 2], led by 1, with the given ISR. */
    static MetadataImage ledByOne(PartitionId tp, List<Integer> isr) {
        return ledByOne(tp.topic(), List.of(tp.partition()), isr);
    }

    /** As {@link #ledByOne(PartitionId, List)}, for a topic of the given partitions, each led by 1. */
    static MetadataImage ledByOne(String topic, List<Integer> partitions, List<Integer> isr) {
        MetadataImage image = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setRegisterBroker(
                RegisterBrokerRecord.newBuilder().setBrokerId(FOLLOWER).setIncarnationId("i2")).build(), 1);
        long followerEpoch = image.brokers().get(FOLLOWER).brokerEpoch();
        image = image.apply(MetadataRecord.newBuilder().setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                .setBrokerId(FOLLOWER).setBrokerEpoch(followerEpoch)).build(), 2);
        CreateTopicRecord.Builder create = CreateTopicRecord.newBuilder()
                .setName(topic).setTopicId(Uuids.toProto(UUID.randomUUID()));
        for (int partition : partitions) {
            create.addPartitions(PartitionRecord.newBuilder().setPartition(partition).addReplicas(LEADER)
                    .addReplicas(FOLLOWER).addAllIsr(isr).setLeader(LEADER).setLeaderEpoch(1).setPartitionEpoch(1));
        }
        return image.apply(MetadataRecord.newBuilder().setCreateTopic(create).build(), 3);
    }
}
