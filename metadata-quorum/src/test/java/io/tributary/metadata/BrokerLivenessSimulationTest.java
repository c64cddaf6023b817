package io.tributary.metadata;

import static io.tributary.metadata.Images.replay;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionChangeRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Seeded random sequences of broker fencing, unfencing, restarts, elections and ISR expansion over 5 brokers and a
 * 10-partition topic of replication factor 3, with the partition invariants checked after every step. A failing
 * run prints its seed; {@code -Dtributary.seed=N} replays that one seed.
 */
class BrokerLivenessSimulationTest {

    private static final int BROKERS = 5;
    private static final int SEEDS = 200;
    private static final int STEPS = 300;

    @Test
    void partitionInvariantsHoldAfterEveryStep() {
        String fixed = System.getProperty("tributary.seed");
        long base = fixed != null ? Long.parseLong(fixed) : 0x7e1b_0a47L;
        int seeds = fixed != null ? 1 : SEEDS;
        for (int i = 0; i < seeds; i++) {
            simulate(base + i);
        }
    }

    private static void simulate(long seed) {
        Random random = new Random(seed);
        MetadataImage image = Images.live(1, 2, 3, 4, 5);
        image = replay(image, ControllerDecisions.createTopic(image, "t", 10, 3, Map.of(), new UUID(seed, 1)));
        int restarts = 0;
        for (int step = 0; step < STEPS; step++) {
            int broker = 1 + random.nextInt(BROKERS);
            String event;
            ControllerResult<?> result;
            switch (random.nextInt(5)) {
                case 0 -> {
                    event = "fence " + broker;
                    result = ControllerDecisions.fenceBroker(image, broker);
                }
                case 1 -> {
                    event = "unfenceAndElect " + broker;
                    result = ControllerDecisions.unfenceBrokerAndElect(image, broker);
                }
                case 2 -> {
                    // Mostly a new process; sometimes the same one registering again.
                    BrokerRegistration current = image.brokers().get(broker);
                    String incarnation = random.nextInt(4) == 0 ? current.incarnationId()
                            : "inc-" + broker + "-" + ++restarts;
                    event = "register " + broker + " " + incarnation;
                    result = ControllerDecisions.registerBrokerIncarnation(image, broker, incarnation,
                            Images.endpoints(broker), null);
                }
                case 3 -> {
                    event = "electLeaders";
                    result = ControllerDecisions.electLeaders(image);
                }
                default -> {
                    event = "expandIsr";
                    result = expandIsr(image, random);
                }
            }
            String where = "seed=" + seed + " step=" + step + " event=" + event;
            assertThat(result.failed()).as(where).isFalse();
            MetadataImage next = replay(image, result);
            checkEveryChangeApplied(next, result.records(), where);
            checkInvariants(image, next, where);
            image = next;
        }
    }

    /** What replication's AlterPartition would commit: a live replica outside the ISR of a led partition caught up. */
    private static ControllerResult<Void> expandIsr(MetadataImage image, Random random) {
        TopicImage topic = image.topic("t");
        PartitionImage p = topic.partition(random.nextInt(topic.partitions().size()));
        List<Integer> candidates = new ArrayList<>();
        for (int replica : p.replicas()) {
            if (!p.isr().contains(replica) && isLive(image, replica)) {
                candidates.add(replica);
            }
        }
        if (!p.hasLeader() || candidates.isEmpty()) {
            return ControllerResult.of(List.of(), null);
        }
        List<Integer> isr = new ArrayList<>(p.isr());
        isr.add(candidates.get(random.nextInt(candidates.size())));
        return ControllerResult.of(List.of(MetadataRecord.newBuilder().setPartitionChange(PartitionChangeRecord
                .newBuilder().setTopicId(Uuids.toProto(topic.topicId())).setPartition(p.partition())
                .setLeader(p.leader()).setLeaderEpoch(p.leaderEpoch()).addAllIsr(isr)
                .setPartitionEpoch(p.partitionEpoch() + 1)).build()), null);
    }

    private static boolean isLive(MetadataImage image, int brokerId) {
        BrokerRegistration broker = image.brokers().get(brokerId);
        return broker != null && !broker.fenced();
    }

    /** A decision never writes a change that replay would skip as stale. */
    private static void checkEveryChangeApplied(MetadataImage next, List<MetadataRecord> records, String where) {
        for (MetadataRecord record : records) {
            if (record.hasPartitionChange()) {
                PartitionChangeRecord change = record.getPartitionChange();
                PartitionImage p = next.topic(Uuids.fromProto(change.getTopicId())).partition(change.getPartition());
                assertThat(p.partitionEpoch()).as(where + " partition " + p.partition() + " change applied")
                        .isEqualTo(change.getPartitionEpoch());
            }
        }
    }

    private static void checkInvariants(MetadataImage before, MetadataImage after, String where) {
        for (TopicImage topic : after.topics().values()) {
            for (PartitionImage p : topic.partitions()) {
                PartitionImage old = before.topic(topic.name()).partition(p.partition());
                String at = where + " partition " + p;
                assertThat(p.isr()).as(at + ": ISR never empty").isNotEmpty();
                assertThat(p.replicas()).as(at + ": ISR within the replicas").containsAll(p.isr());
                if (p.hasLeader()) {
                    assertThat(p.isr()).as(at + ": leader in ISR").contains(p.leader());
                    assertThat(isLive(after, p.leader())).as(at + ": leader is an unfenced broker").isTrue();
                } else {
                    assertThat(p.isr()).as(at + ": offline only without a live ISR member")
                            .noneMatch(id -> isLive(after, id));
                }
                assertThat(p.leaderEpoch()).as(at + ": leader epoch never decreases")
                        .isGreaterThanOrEqualTo(old.leaderEpoch());
                assertThat(p.partitionEpoch()).as(at + ": partition epoch never decreases")
                        .isGreaterThanOrEqualTo(old.partitionEpoch());
                if (p.leader() != old.leader()) {
                    assertThat(p.leaderEpoch()).as(at + ": new leader, new leader epoch")
                            .isGreaterThan(old.leaderEpoch());
                }
                if (!p.equals(old)) {
                    assertThat(p.partitionEpoch()).as(at + ": every change bumps the partition epoch")
                            .isGreaterThan(old.partitionEpoch());
                }
            }
        }
    }
}
