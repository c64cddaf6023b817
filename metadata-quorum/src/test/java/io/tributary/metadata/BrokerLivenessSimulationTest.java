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
 * Seeded random sequences of broker fencing, unfencing, restarts, elections (after fail-over, ElectLeaders PREFERRED
 * and UNCLEAN, the automatic preferred-leader rebalance, the unclean sweep) and ISR expansion over 5 brokers and two
 * 10-partition topics of replication factor 3: "t" with the node's default for unclean elections (chosen per seed),
 * "u" with {@code unclean.leader.election.enable=true}. The partition invariants are checked after every step: among
 * them, a new leader comes from the old ISR unless its topic allows unclean elections (and then only when no old ISR
 * member was live, with the ISR reset to it), and an unclean topic is offline only while no replica is live. A
 * failing run prints its seed; {@code -Dtributary.seed=N} replays that one seed; {@code -Dtributary.sim.seeds=N} runs N
 * seeds (CI runs {@value #SEEDS}; a long run uses thousands).
 */
class BrokerLivenessSimulationTest {

    private static final int BROKERS = 5;
    private static final int SEEDS = 200;
    private static final int STEPS = 300;

    @Test
    void partitionInvariantsHoldAfterEveryStep() {
        String fixed = System.getProperty("tributary.seed");
        long base = fixed != null ? Long.parseLong(fixed) : 0x7e1b_0a47L;
        int seeds = fixed != null ? 1 : Integer.getInteger("tributary.sim.seeds", SEEDS);
        int[] coverage = new int[2];
        for (int i = 0; i < seeds; i++) {
            simulate(base + i, coverage);
        }
        if (fixed == null) {
            // The runs must reach what they check: leaders elected outside the ISR, and preferred leaders restored.
            assertThat(coverage[0]).as("unclean elections").isGreaterThan(seeds);
            assertThat(coverage[1]).as("preferred elections").isGreaterThan(seeds);
        }
    }

    /** @param coverage counts unclean elections [0] and preferred-leader moves [1] */
    private static void simulate(long seed, int[] coverage) {
        Random random = new Random(seed);
        boolean uncleanDefault = seed % 2 == 1;
        MetadataImage image = Images.live(1, 2, 3, 4, 5);
        image = replay(image, ControllerDecisions.createTopic(image, "t", 10, 3, Map.of(), new UUID(seed, 1)));
        image = replay(image, ControllerDecisions.createTopic(image, "u", 10, 3,
                Map.of(LeaderElectionDecisions.UNCLEAN_LEADER_ELECTION_ENABLE, "true"), new UUID(seed, 2)));
        int restarts = 0;
        for (int step = 0; step < STEPS; step++) {
            int broker = 1 + random.nextInt(BROKERS);
            String event;
            ControllerResult<?> result;
            switch (random.nextInt(9)) {
                case 0 -> {
                    event = "fence " + broker;
                    result = ControllerDecisions.fenceBroker(image, broker, uncleanDefault);
                }
                case 1 -> {
                    event = "unfenceAndElect " + broker;
                    result = ControllerDecisions.unfenceBrokerAndElect(image, broker, uncleanDefault);
                }
                case 2 -> {
                    // Mostly a new process; sometimes the same one registering again.
                    BrokerRegistration current = image.brokers().get(broker);
                    String incarnation = random.nextInt(4) == 0 ? current.incarnationId()
                            : "inc-" + broker + "-" + ++restarts;
                    event = "register " + broker + " " + incarnation;
                    result = ControllerDecisions.registerBrokerIncarnation(image, broker, incarnation,
                            Images.endpoints(broker), null, uncleanDefault);
                }
                case 3 -> {
                    event = "electLeaders";
                    result = ControllerDecisions.electLeaders(image, uncleanDefault);
                }
                case 4 -> {
                    Map<String, List<Integer>> named = randomPartitions(random);
                    event = "ElectLeaders PREFERRED " + (named == null ? "all" : named);
                    result = LeaderElectionDecisions.electLeaders(image, LeaderElectionDecisions.ElectionType.PREFERRED,
                            named);
                }
                case 5 -> {
                    Map<String, List<Integer>> named = randomPartitions(random);
                    event = "ElectLeaders UNCLEAN " + (named == null ? "all" : named);
                    result = LeaderElectionDecisions.electLeaders(image, LeaderElectionDecisions.ElectionType.UNCLEAN,
                            named);
                }
                case 6 -> {
                    int percentage = random.nextInt(4) * 10;
                    event = "rebalance " + percentage + "%";
                    result = LeaderElectionDecisions.rebalanceLeaders(image, percentage);
                }
                case 7 -> {
                    event = "unclean sweep";
                    result = LeaderElectionDecisions.electUncleanLeaders(image, uncleanDefault);
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
            checkInvariants(image, next, where, uncleanDefault, event.startsWith("ElectLeaders UNCLEAN"));
            checkElectionResults(next, result, event, where);
            count(image, next, coverage);
            image = next;
        }
    }

    private static void count(MetadataImage before, MetadataImage after, int[] coverage) {
        for (TopicImage topic : after.topics().values()) {
            for (PartitionImage p : topic.partitions()) {
                PartitionImage old = before.topic(topic.name()).partition(p.partition());
                if (p.hasLeader() && p.leader() != old.leader()) {
                    coverage[0] += old.isr().contains(p.leader()) ? 0 : 1;
                    coverage[1] += old.hasLeader() && p.leader() == p.replicas().get(0) ? 1 : 0;
                }
            }
        }
    }

    /** Some partitions of both topics, or null (every partition). */
    private static Map<String, List<Integer>> randomPartitions(Random random) {
        if (random.nextInt(3) == 0) {
            return null;
        }
        Map<String, List<Integer>> named = new java.util.LinkedHashMap<>();
        for (int i = 0; i < 1 + random.nextInt(4); i++) {
            named.computeIfAbsent(random.nextBoolean() ? "t" : "u", t -> new ArrayList<>()).add(random.nextInt(10));
        }
        return named;
    }

    /** An election answered NONE leaves the partition with the leader that election type promises. */
    private static void checkElectionResults(MetadataImage next, ControllerResult<?> result, String event,
            String where) {
        if (!(result.response() instanceof List<?> results)) {
            return;
        }
        for (Object o : results) {
            LeaderElectionDecisions.PartitionResult r = (LeaderElectionDecisions.PartitionResult) o;
            PartitionImage p = next.topic(r.topic()).partition(r.partition());
            String at = where + " result " + r + " partition " + p;
            if (r.error() == ControllerError.NONE && (event.contains("PREFERRED") || event.startsWith("rebalance"))) {
                assertThat(p.leader()).as(at + ": a preferred election elects the first replica")
                        .isEqualTo(p.replicas().get(0));
            }
            if (r.error() == ControllerError.NONE) {
                assertThat(isLive(next, p.leader())).as(at + ": elected leader is live").isTrue();
            }
            if (r.error() == ControllerError.ELIGIBLE_LEADERS_NOT_AVAILABLE) {
                assertThat(p.replicas()).as(at + ": no live replica").noneMatch(id -> isLive(next, id));
            }
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

    private static void checkInvariants(MetadataImage before, MetadataImage after, String where,
            boolean uncleanDefault, boolean explicitUnclean) {
        for (TopicImage topic : after.topics().values()) {
            boolean unclean = LeaderElectionDecisions.uncleanElectionEnabled(topic, uncleanDefault);
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
                    if (unclean) {
                        assertThat(p.replicas()).as(at + ": unclean topic offline only without a live replica")
                                .noneMatch(id -> isLive(after, id));
                    }
                }
                if (p.hasLeader() && p.leader() != old.leader() && !old.isr().contains(p.leader())) {
                    assertThat(unclean || explicitUnclean).as(at + ": a leader from outside the ISR only where unclean"
                            + " elections are allowed").isTrue();
                    assertThat(p.isr()).as(at + ": an unclean leader's ISR is itself alone").containsExactly(p.leader());
                    assertThat(old.isr()).as(at + ": unclean only when no old ISR member is live")
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
