package io.tributary.metadata;

import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.FenceBrokerRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import java.util.List;
import java.util.UUID;

/** Builds metadata images for tests by replaying records, the only way an image changes. */
final class Images {

    private Images() {}

    /** Replays {@code records} onto {@code image} at the offsets that follow it, as one committed batch would. */
    static MetadataImage replay(MetadataImage image, List<MetadataRecord> records) {
        MetadataImage next = image;
        for (MetadataRecord record : records) {
            next = next.apply(record, next.offset() + 1);
        }
        return next;
    }

    static MetadataImage replay(MetadataImage image, ControllerResult<?> result) {
        if (result.failed()) {
            throw new AssertionError("decision failed: " + result.error() + " " + result.message());
        }
        return replay(image, result.records());
    }

    static List<BrokerRegistration.BrokerEndpoint> endpoints(int brokerId) {
        return List.of(new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9090 + brokerId));
    }

    /** Registers (fenced) each broker under incarnation "inc-id". */
    static MetadataImage registered(MetadataImage image, int... brokerIds) {
        MetadataImage next = image;
        for (int id : brokerIds) {
            next = replay(next, ControllerDecisions.registerBroker(id, "inc-" + id, endpoints(id), null));
        }
        return next;
    }

    /** Registers and unfences each broker. */
    static MetadataImage live(int... brokerIds) {
        MetadataImage next = registered(MetadataImage.EMPTY, brokerIds);
        for (int id : brokerIds) {
            next = replay(next, ControllerDecisions.unfenceBroker(next, id));
        }
        return next;
    }

    /** Fences brokers by their FenceBrokerRecord alone, leaving every partition as it is (a state to start from). */
    static MetadataImage fencedOnly(MetadataImage image, int... brokerIds) {
        MetadataImage next = image;
        for (int id : brokerIds) {
            next = replay(next, List.of(MetadataRecord.newBuilder().setFenceBroker(FenceBrokerRecord.newBuilder()
                    .setBrokerId(id).setBrokerEpoch(next.brokers().get(id).brokerEpoch())).build()));
        }
        return next;
    }

    /** Adds a topic whose partitions are exactly as given (numbered 0, 1, ...). */
    static MetadataImage withTopic(MetadataImage image, String name, UUID topicId, PartitionImage... partitions) {
        CreateTopicRecord.Builder topic = CreateTopicRecord.newBuilder().setName(name).setTopicId(Uuids.toProto(topicId));
        for (PartitionImage p : partitions) {
            topic.addPartitions(PartitionRecord.newBuilder()
                    .setPartition(p.partition())
                    .addAllReplicas(p.replicas())
                    .addAllIsr(p.isr())
                    .setLeader(p.leader())
                    .setLeaderEpoch(p.leaderEpoch())
                    .setPartitionEpoch(p.partitionEpoch()));
        }
        return replay(image, List.of(MetadataRecord.newBuilder().setCreateTopic(topic).build()));
    }

    static PartitionImage partition(int partition, List<Integer> replicas, List<Integer> isr, int leader,
            int leaderEpoch, int partitionEpoch) {
        return new PartitionImage(partition, replicas, isr, leader, leaderEpoch, partitionEpoch);
    }
}
