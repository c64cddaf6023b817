package io.tributary.node.group;

import static io.tributary.node.group.GroupTestSupport.coordinator;
import static io.tributary.node.group.GroupTestSupport.error;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.group.ClassicGroup.CommittedOffset;
import io.tributary.node.group.GroupRecord.OffsetCommitRecord;
import io.tributary.node.group.GroupRecord.OffsetTombstone;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The coordinator's committed and pending offsets against a dumb oracle that reads the whole log each time (STYLE
 * rule 13): seeded random regular and transactional commits, COMMIT and ABORT markers, OffsetDelete, DeleteGroups
 * and retention ticks of standalone groups. The oracle's rules, stated over the log rather than as state changes:
 * a partition's committed offset is that of its latest record (by log offset) that is either not transactional or
 * in a transaction whose next marker is a COMMIT, with no offset tombstone of the partition after it; a producer's
 * pending offset of a partition is its latest transactional record of it with neither a marker of the producer nor
 * a tombstone of the partition after it. Checked after every step; every 25 steps and at the end a fresh
 * coordinator loads the log in random chunks and must agree. A failing seed replays.
 */
class GroupCoordinatorTxnOffsetsOracleTest {

    private static final int STEPS = 600;
    private static final List<String> GROUPS = List.of("a", "b");
    private static final short TXN_V = 4;

    @ParameterizedTest
    @ValueSource(longs = {1L, 2L, 3L, 7L, 11L, 42L, 1234L, 20240607L})
    void committedAndPendingOffsetsMatchTheOracleLiveAndAfterALoad(long seed) {
        System.out.println("txn offsets oracle seed=" + seed);
        Random random = new Random(seed);
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withOffsetsRetention(5_000, 0));
        List<GroupLogEntry> log = new ArrayList<>();
        long now = 0;
        for (int step = 0; step < STEPS; step++) {
            now += random.nextInt(200);
            String group = GROUPS.get(random.nextInt(GROUPS.size()));
            int partition = random.nextInt(3);
            int action = random.nextInt(100);
            if (action < 25) {
                persist(c, log, c.commitOffsets(regularCommit(group, partition, random.nextInt(1_000)), (short) 9,
                        tp -> true, now).records());
            } else if (action < 55) {
                long producerId = 1 + random.nextInt(4);
                TxnOffsetCommitDecision d = c.commitTransactionalOffsets(txnCommit(group, producerId, random),
                        TXN_V, tp -> true, now);
                assertThat(d.response().topics().get(0).partitions()).allMatch(p -> p.errorCode() == 0);
                for (GroupRecord r : d.records()) {
                    long offset = log.size();
                    log.add(new GroupLogEntry.Data(offset, producerId, r));
                    c.replayTransactional(r, offset, producerId);
                }
            } else if (action < 80) {
                long producerId = 1 + random.nextInt(4);
                boolean commit = random.nextBoolean();
                log.add(new GroupLogEntry.TxnMarker(producerId, commit));
                c.completeTransaction(producerId, commit);
            } else if (action < 88) {
                OffsetDeleteRequestData req = new OffsetDeleteRequestData().setGroupId(group);
                OffsetDeleteRequestData.OffsetDeleteRequestTopic topic =
                        new OffsetDeleteRequestData.OffsetDeleteRequestTopic().setName("t");
                topic.partitions().add(new OffsetDeleteRequestData.OffsetDeleteRequestPartition()
                        .setPartitionIndex(partition));
                req.topics().add(topic);
                persist(c, log, c.deleteOffsets(req).records());
            } else if (action < 92) {
                persist(c, log, c.deleteGroups(new DeleteGroupsRequestData().setGroupsNames(List.of(group)))
                        .records());
            } else {
                List<GroupRecord> expired = c.onTick(now);
                for (GroupRecord r : expired) {
                    if (r instanceof OffsetTombstone t) {
                        assertThat(c.hasPendingTxnOffset(t.group(), new TopicPartition(t.topic(), t.partition())))
                                .as("an offset with an open transaction's offset does not expire").isFalse();
                    }
                }
                persist(c, log, expired);
            }

            Oracle oracle = new Oracle(log);
            check(c, oracle, "live, step " + step);
            if (step % 25 == 24 || step == STEPS - 1) {
                check(load(log, random), oracle, "loaded, step " + step);
            }
        }
    }

    private static void persist(GroupCoordinator c, List<GroupLogEntry> log, List<GroupRecord> records) {
        for (GroupRecord r : records) {
            long offset = log.size();
            log.add(new GroupLogEntry.Data(offset, r));
            c.replay(r, offset);
        }
    }

    private static GroupCoordinator load(List<GroupLogEntry> log, Random random) {
        GroupCoordinator loaded = coordinator(GroupCoordinatorConfig.defaults());
        int first = Math.min(log.size(), random.nextInt(10));
        loaded.load(log.subList(0, first), 0);
        for (int from = first; from < log.size(); ) {
            int to = Math.min(log.size(), from + 1 + random.nextInt(10));
            loaded.loadMore(log.subList(from, to), 0);
            from = to;
        }
        return loaded;
    }

    private static void check(GroupCoordinator c, Oracle oracle, String when) {
        assertThat(c.pendingTxnOffsets().snapshot()).as("pending, " + when).isEqualTo(oracle.pending);
        for (String group : GROUPS) {
            ClassicGroup g = c.group(group);
            Map<TopicPartition, CommittedOffset> committed = g == null ? Map.of() : g.offsets;
            assertThat(committed).as("committed of " + group + ", " + when)
                    .isEqualTo(oracle.committed.getOrDefault(group, Map.of()));
            OffsetFetchResponseData r = c.fetchOffsets(new OffsetFetchRequestData().setRequireStable(true)
                    .setGroups(List.of(new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(group)
                            .setTopics(List.of(new OffsetFetchRequestData.OffsetFetchRequestTopics().setName("t")
                                    .setPartitionIndexes(List.of(0, 1, 2)))))), (short) 9);
            for (OffsetFetchResponseData.OffsetFetchResponsePartitions p
                    : r.groups().get(0).topics().get(0).partitions()) {
                TopicPartition tp = new TopicPartition("t", p.partitionIndex());
                if (oracle.isPending(group, tp)) {
                    assertThat(error(p.errorCode())).as(tp + " of " + group + ", " + when)
                            .isEqualTo(Errors.UNSTABLE_OFFSET_COMMIT);
                } else {
                    CommittedOffset expected = oracle.committed.getOrDefault(group, Map.of()).get(tp);
                    assertThat(p.committedOffset()).as(tp + " of " + group + ", " + when)
                            .isEqualTo(expected == null ? -1 : expected.offset());
                }
            }
        }
    }

    /** Committed and pending offsets computed from the whole log by the rules in the class comment. */
    private static final class Oracle {
        final Map<String, Map<TopicPartition, CommittedOffset>> committed = new HashMap<>();
        final Map<Long, Map<String, Map<TopicPartition, CommittedOffset>>> pending = new LinkedHashMap<>();

        Oracle(List<GroupLogEntry> log) {
            for (int i = 0; i < log.size(); i++) {
                if (!(log.get(i) instanceof GroupLogEntry.Data d) || !(d.record() instanceof OffsetCommitRecord r)) {
                    continue;
                }
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                if (tombstoneAfter(log, i, r.group(), tp)) {
                    continue;
                }
                CommittedOffset offset = new CommittedOffset(r.offset(), r.leaderEpoch(), r.metadata(),
                        r.commitTimestampMs(), d.recordOffset());
                Boolean outcome = d.producerId() == GroupLogEntry.NO_PRODUCER_ID ? Boolean.TRUE
                        : nextMarker(log, i, d.producerId());
                if (outcome == null) {
                    // later records of the same transaction come later in this loop and replace it
                    pending.computeIfAbsent(d.producerId(), p -> new LinkedHashMap<>())
                            .computeIfAbsent(r.group(), g -> new LinkedHashMap<>()).put(tp, offset);
                } else if (outcome) {
                    CommittedOffset previous = committed.computeIfAbsent(r.group(), g -> new HashMap<>()).get(tp);
                    if (previous == null || previous.recordOffset() < offset.recordOffset()) {
                        committed.get(r.group()).put(tp, offset);
                    }
                }
            }
            committed.values().removeIf(Map::isEmpty);
        }

        boolean isPending(String group, TopicPartition tp) {
            return pending.values().stream().anyMatch(groups -> groups.getOrDefault(group, Map.of()).containsKey(tp));
        }

        private static boolean tombstoneAfter(List<GroupLogEntry> log, int index, String group, TopicPartition tp) {
            for (int i = index + 1; i < log.size(); i++) {
                if (log.get(i) instanceof GroupLogEntry.Data d && d.record() instanceof OffsetTombstone t
                        && t.group().equals(group) && t.topic().equals(tp.topic()) && t.partition() == tp.partition()) {
                    return true;
                }
            }
            return false;
        }

        /** The outcome of the next marker of the producer after {@code index}: null if none yet. */
        private static Boolean nextMarker(List<GroupLogEntry> log, int index, long producerId) {
            for (int i = index + 1; i < log.size(); i++) {
                if (log.get(i) instanceof GroupLogEntry.TxnMarker m && m.producerId() == producerId) {
                    return m.commit();
                }
            }
            return null;
        }
    }

    private static OffsetCommitRequestData regularCommit(String group, int partition, long offset) {
        return new OffsetCommitRequestData().setGroupId(group).setGenerationIdOrMemberEpoch(-1).setMemberId("")
                .setTopics(List.of(new OffsetCommitRequestData.OffsetCommitRequestTopic().setName("t")
                        .setPartitions(List.of(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                .setPartitionIndex(partition).setCommittedOffset(offset)))));
    }

    /** One to three distinct partitions of "t" at random offsets. */
    private static TxnOffsetCommitRequestData txnCommit(String group, long producerId, Random random) {
        TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic topic =
                new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic().setName("t");
        for (int p = 0; p < 3; p++) {
            if (random.nextInt(3) > 0 || (p == 2 && topic.partitions().isEmpty())) {
                topic.partitions().add(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                        .setPartitionIndex(p).setCommittedOffset(random.nextInt(1_000)).setCommittedLeaderEpoch(-1));
            }
        }
        return new TxnOffsetCommitRequestData().setTransactionalId("tx-" + producerId).setGroupId(group)
                .setProducerId(producerId).setProducerEpoch((short) 0).setGenerationId(-1).setMemberId("")
                .setTopics(List.of(topic));
    }
}
