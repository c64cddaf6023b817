package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionChangeRecord;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class MetadataImageTest {

    private static final UUID TOPIC_ID = new UUID(1, 2);

    private static MetadataImage replay(List<MetadataRecord> records) {
        MetadataImage image = MetadataImage.EMPTY;
        long offset = 0;
        for (MetadataRecord r : records) {
            image = image.apply(r, offset++);
        }
        return image;
    }

    private static MetadataImage withBrokers(int... ids) {
        MetadataImage image = MetadataImage.EMPTY;
        long offset = 0;
        for (int id : ids) {
            image = image.apply(ControllerDecisions.registerBroker(id, "inc-" + id,
                    List.of(new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9090 + id)), null)
                    .records().get(0), offset++);
            image = image.apply(ControllerDecisions.unfenceBroker(image, id).records().get(0), offset++);
        }
        return image;
    }

    @Test
    void registeredBrokersStartFencedAndUnfenceOnlyForTheirCurrentEpoch() {
        MetadataImage image = MetadataImage.EMPTY.apply(ControllerDecisions.registerBroker(1, "a",
                List.of(new BrokerRegistration.BrokerEndpoint("PLAINTEXT", "h", 1)), null).records().get(0), 10);
        assertThat(image.brokers().get(1).fenced()).isTrue();
        assertThat(image.brokers().get(1).brokerEpoch()).isEqualTo(10);
        MetadataRecord staleUnfence = MetadataRecord.newBuilder().setUnfenceBroker(
                io.tributary.proto.metadata.UnfenceBrokerRecord.newBuilder().setBrokerId(1).setBrokerEpoch(3)).build();
        assertThat(image.apply(staleUnfence, 11).brokers().get(1).fenced()).isTrue();
        MetadataImage unfenced = image.apply(ControllerDecisions.unfenceBroker(image, 1).records().get(0), 11);
        assertThat(unfenced.brokers().get(1).fenced()).isFalse();
        assertThat(unfenced.liveBrokers()).hasSize(1);
    }

    @Test
    void createTopicSpreadsLeadersAndReplicasOverLiveBrokers() {
        MetadataImage image = withBrokers(1, 2, 3);
        ControllerResult<TopicImage> created = ControllerDecisions.createTopic(image, "orders", 6, 2, Map.of(),
                TOPIC_ID);
        MetadataImage next = image.apply(created.records().get(0), 100);
        TopicImage topic = next.topic("orders");
        assertThat(topic).isEqualTo(next.topic(TOPIC_ID));
        assertThat(topic.partitions()).hasSize(6);
        assertThat(topic.partitions()).allSatisfy(p -> {
            assertThat(p.replicas()).hasSize(2).doesNotHaveDuplicates();
            assertThat(p.isr()).isEqualTo(p.replicas());
            assertThat(p.leader()).isEqualTo(p.replicas().get(0));
        });
        assertThat(topic.partitions().stream().map(PartitionImage::leader).distinct()).containsExactlyInAnyOrder(1, 2,
                3);
        assertThat(ControllerDecisions.createTopic(next, "orders", 1, 1, Map.of(), new UUID(3, 4)).error())
                .isEqualTo(ControllerError.TOPIC_ALREADY_EXISTS);
        assertThat(ControllerDecisions.createTopic(next, "wide", 1, 4, Map.of(), new UUID(3, 4)).error())
                .isEqualTo(ControllerError.INVALID_REPLICATION_FACTOR);
        assertThat(ControllerDecisions.createTopic(next, "a b", 1, 1, Map.of(), new UUID(3, 4)).error())
                .isEqualTo(ControllerError.INVALID_TOPIC_EXCEPTION);
        assertThat(ControllerDecisions.createTopic(next, "zero", 0, 1, Map.of(), new UUID(3, 4)).error())
                .isEqualTo(ControllerError.INVALID_PARTITIONS);
    }

    @Test
    void partitionChangesApplyOnlyWithTheNextPartitionEpoch() {
        MetadataImage image = withBrokers(1, 2);
        image = image.apply(ControllerDecisions.createTopic(image, "t", 1, 2, Map.of(), TOPIC_ID).records().get(0),
                50);
        PartitionChangeRecord.Builder change = PartitionChangeRecord.newBuilder()
                .setTopicId(Uuids.toProto(TOPIC_ID)).setPartition(0).setLeader(2).setLeaderEpoch(1).addIsr(2);
        MetadataImage stale = image.apply(MetadataRecord.newBuilder()
                .setPartitionChange(change.setPartitionEpoch(0)).build(), 51);
        assertThat(stale.topic("t").partition(0).leader()).isEqualTo(image.topic("t").partition(0).leader());
        MetadataImage applied = image.apply(MetadataRecord.newBuilder()
                .setPartitionChange(change.setPartitionEpoch(1)).build(), 51);
        assertThat(applied.topic("t").partition(0)).isEqualTo(new PartitionImage(0,
                image.topic("t").partition(0).replicas(), List.of(2), 2, 1, 1));
    }

    @Test
    void deleteTopicAndProducerIdBlocks() {
        MetadataImage image = withBrokers(1);
        image = image.apply(ControllerDecisions.createTopic(image, "t", 1, 1, Map.of(), TOPIC_ID).records().get(0),
                10);
        assertThat(image.isDeleted(TOPIC_ID)).isFalse();
        image = image.apply(ControllerDecisions.deleteTopic(image, "t").records().get(0), 11);
        assertThat(image.topic("t")).isNull();
        assertThat(image.topic(TOPIC_ID)).isNull();
        // The deletion is remembered (brokers delete a log only for a topic id known deleted), snapshots included.
        assertThat(image.isDeleted(TOPIC_ID)).isTrue();
        assertThat(MetadataImage.fromSnapshot(image.toSnapshot()).isDeleted(TOPIC_ID)).isTrue();
        assertThat(MetadataImage.fromSnapshot(image.toSnapshot())).isEqualTo(image);
        assertThat(ControllerDecisions.deleteTopic(image, "t").error())
                .isEqualTo(ControllerError.UNKNOWN_TOPIC_OR_PARTITION);

        ControllerResult<Long> first = ControllerDecisions.allocateProducerIds(image, 1, 1000);
        image = image.apply(first.records().get(0), 12);
        ControllerResult<Long> second = ControllerDecisions.allocateProducerIds(image, 1, 1000);
        assertThat(first.response()).isZero();
        assertThat(second.response()).isEqualTo(1000L);
        // Replaying the same block twice hands out nothing twice.
        assertThat(image.apply(first.records().get(0), 13).nextProducerId()).isEqualTo(1000L);
    }

    @Test
    void replayIsDeterministic() {
        MetadataImage image = withBrokers(1, 2, 3);
        List<MetadataRecord> records = List.of(
                ControllerDecisions.createTopic(image, "a", 3, 3, Map.of("retention.ms", "1"), TOPIC_ID)
                        .records().get(0),
                ControllerDecisions.allocateProducerIds(image, 2, 10).records().get(0));
        assertThat(replay(records).topics()).isEqualTo(replay(records).topics());
    }

    @Test
    void snapshotRoundTripGivesAnEqualImage() throws Exception {
        MetadataImage image = withBrokers(1, 2, 3);
        image = image.apply(ControllerDecisions.createTopic(image, "a", 3, 3, Map.of("retention.ms", "9"), TOPIC_ID)
                .records().get(0), 20);
        image = image.apply(ControllerDecisions.createTopic(image, "b", 2, 1, Map.of(), new UUID(9, 9))
                .records().get(0), 21);
        long offset = 22;
        for (MetadataRecord r : ControllerDecisions.fenceBroker(image, 2).records()) {
            image = image.apply(r, offset);
        }
        image = image.apply(ControllerDecisions.allocateProducerIds(image, 1, 500).records().get(0), 23);

        MetadataImage restored = MetadataImage.fromSnapshot(
                io.tributary.proto.metadata.ImageSnapshot.parseFrom(image.toSnapshot().toByteArray()));
        assertThat(restored).isEqualTo(image);
        assertThat(restored.offset()).isEqualTo(image.offset());
        assertThat(restored.brokers().get(2).fenced()).isTrue();
        assertThat(restored.topic(TOPIC_ID)).isEqualTo(image.topic("a"));
        assertThat(restored.nextProducerId()).isEqualTo(500);
        // The restored image keeps applying records exactly as the original.
        MetadataRecord next = ControllerDecisions.unfenceBrokerAndElect(image, 2).records().get(0);
        assertThat(restored.apply(next, 30)).isEqualTo(image.apply(next, 30));
    }
}
