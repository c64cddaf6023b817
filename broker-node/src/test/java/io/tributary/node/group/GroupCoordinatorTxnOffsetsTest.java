package io.tributary.node.group;

import static io.tributary.node.group.GroupTestSupport.JOIN_V;
import static io.tributary.node.group.GroupTestSupport.assign;
import static io.tributary.node.group.GroupTestSupport.coordinator;
import static io.tributary.node.group.GroupTestSupport.done;
import static io.tributary.node.group.GroupTestSupport.error;
import static io.tributary.node.group.GroupTestSupport.join;
import static io.tributary.node.group.GroupTestSupport.memberIds;
import static io.tributary.node.group.GroupTestSupport.subscription;
import static io.tributary.node.group.GroupTestSupport.sync;
import static io.tributary.node.group.GroupTestSupport.syncNow;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.group.GroupRecord.GroupTombstone;
import io.tributary.node.group.GroupRecord.OffsetCommitRecord;
import io.tributary.node.group.GroupRecord.OffsetTombstone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;

/**
 * TxnOffsetCommit in the group coordinator's core (KIP-98, KIP-447): pending offsets per producer, invisible until
 * the producer's COMMIT marker, dropped by ABORT, UNSTABLE_OFFSET_COMMIT for require_stable fetches, Kafka's
 * validation, the per-group bound, deletion and expiry with open transactions, and a load of the log (records and
 * markers) rebuilding the same state.
 */
class GroupCoordinatorTxnOffsetsTest {

    private static final String G = "g";
    private static final short TXN_V = 4;
    private static final Predicate<TopicPartition> ONLY_T = tp -> tp.topic().equals("t");
    private static final TopicPartition T0 = new TopicPartition("t", 0);
    private static final TopicPartition T1 = new TopicPartition("t", 1);

    /** The partition's log as the tests write it: entries at offsets 0, 1, 2, ... */
    private static final class Log {
        final List<GroupLogEntry> entries = new ArrayList<>();

        /** Appends a non-transactional decision's records and replays them, as the driver does. */
        void persist(GroupCoordinator c, List<GroupRecord> records) {
            for (GroupRecord r : records) {
                GroupRecord decoded = roundTrip(r);
                long offset = entries.size();
                entries.add(new GroupLogEntry.Data(offset, decoded));
                c.replay(decoded, offset);
            }
        }

        /** Appends a TxnOffsetCommit's records in the producer's transactional batch and replays them. */
        TxnOffsetCommitResponseData persist(GroupCoordinator c, TxnOffsetCommitDecision decision) {
            for (GroupRecord r : decision.records()) {
                GroupRecord decoded = roundTrip(r);
                long offset = entries.size();
                entries.add(new GroupLogEntry.Data(offset, decision.producerId(), decoded));
                c.replayTransactional(decoded, offset, decision.producerId());
            }
            return decision.response();
        }

        /** Writes the producer's marker and completes its transaction, as the marker writer's report does. */
        void marker(GroupCoordinator c, long producerId, boolean commit) {
            entries.add(new GroupLogEntry.TxnMarker(producerId, commit));
            c.completeTransaction(producerId, commit);
        }

        /** A fresh coordinator that loads this log. */
        GroupCoordinator load() {
            GroupCoordinator successor = coordinator(GroupCoordinatorConfig.defaults());
            successor.load(entries, 1_000_000);
            return successor;
        }
    }

    private static GroupRecord roundTrip(GroupRecord r) {
        GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
        return GroupRecordCodec.decode(e.key(), e.value());
    }

    /** A TxnOffsetCommit of partitions of "t": pairs of partition, offset. */
    static TxnOffsetCommitRequestData txnCommit(String group, long producerId, int generation, String memberId,
            long... partitionOffset) {
        TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic topic =
                new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic().setName("t");
        for (int i = 0; i < partitionOffset.length; i += 2) {
            topic.partitions().add(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                    .setPartitionIndex((int) partitionOffset[i]).setCommittedOffset(partitionOffset[i + 1])
                    .setCommittedLeaderEpoch(3).setCommittedMetadata("txn"));
        }
        return new TxnOffsetCommitRequestData().setTransactionalId("tx-" + producerId).setGroupId(group)
                .setProducerId(producerId).setProducerEpoch((short) 2).setGenerationId(generation)
                .setMemberId(memberId).setTopics(new ArrayList<>(List.of(topic)));
    }

    private static OffsetCommitRequestData commit(String group, int partition, long offset) {
        return new OffsetCommitRequestData().setGroupId(group).setGenerationIdOrMemberEpoch(-1).setMemberId("")
                .setTopics(List.of(new OffsetCommitRequestData.OffsetCommitRequestTopic().setName("t")
                        .setPartitions(List.of(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                                .setPartitionIndex(partition).setCommittedOffset(offset).setCommittedMetadata("")))));
    }

    private static List<Errors> errors(TxnOffsetCommitResponseData r) {
        List<Errors> list = new ArrayList<>();
        r.topics().forEach(t -> t.partitions().forEach(p -> list.add(error(p.errorCode()))));
        return list;
    }

    /** OffsetFetch v8 of "t" partitions 0 and 1: "offset" or the error's name per partition. */
    private static List<String> fetch(GroupCoordinator c, String group, boolean requireStable) {
        OffsetFetchResponseData r = c.fetchOffsets(new OffsetFetchRequestData().setRequireStable(requireStable)
                .setGroups(List.of(new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(group)
                        .setTopics(List.of(new OffsetFetchRequestData.OffsetFetchRequestTopics().setName("t")
                                .setPartitionIndexes(List.of(0, 1)))))), (short) 8);
        List<String> answers = new ArrayList<>();
        r.groups().get(0).topics().get(0).partitions().forEach(p -> answers.add(p.errorCode() != 0
                ? error(p.errorCode()).name() : Long.toString(p.committedOffset())));
        return answers;
    }

    /** Two members at generation 1, joined and (unless {@code syncToo} is false) synced; ids leader first. */
    private static List<String> groupAtGenerationOne(GroupCoordinator c, boolean syncToo) {
        List<String> ids = memberIds(c, G, 2, 0);
        var ja = c.joinGroup(join(G, ids.get(0), null, subscription("t")), JOIN_V, "c0", "/h", 0);
        var jb = c.joinGroup(join(G, ids.get(1), null, subscription("t")), JOIN_V, "c1", "/h", 0);
        c.onTick(100);
        c.onTick(200);
        assertThat(done(ja).generationId()).isEqualTo(1);
        done(jb);
        if (syncToo) {
            syncNow(c, sync(G, ids.get(0), 1, List.of(assign(ids.get(0), "A"), assign(ids.get(1), "B"))), 200);
            syncNow(c, sync(G, ids.get(1), 1, List.of()), 200);
        }
        return ids;
    }

    @Test
    void pendingOffsetsAreInvisibleUntilTheCommitMarkerAndUnstableForRequireStable() {
        // Given a standalone group with a committed offset of t-0
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults());
        Log log = new Log();
        log.persist(c, c.commitOffsets(commit(G, 0, 5), (short) 9, ONLY_T, 10).records());

        // When producer 7's transaction commits offsets of t-0 and t-1 (an unknown-to-members simple group, gen -1)
        TxnOffsetCommitDecision decision = c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 9, 1, 4),
                TXN_V, ONLY_T, 20);
        assertThat(errors(decision.response())).containsExactly(Errors.NONE, Errors.NONE);
        assertThat(decision.records()).containsExactly(new OffsetCommitRecord(G, "t", 0, 9, 3, "txn", 20),
                new OffsetCommitRecord(G, "t", 1, 4, 3, "txn", 20));
        assertThat(decision.producerId()).isEqualTo(7);
        assertThat(decision.producerEpoch()).isEqualTo((short) 2);
        assertThat(c.hasPendingTxnOffset(G, T0)).as("decided, not replayed").isFalse();
        log.persist(c, decision);

        // Then they are pending: the committed offsets answer, require_stable answers UNSTABLE_OFFSET_COMMIT
        assertThat(fetch(c, G, false)).containsExactly("5", "-1");
        assertThat(fetch(c, G, true)).containsExactly("UNSTABLE_OFFSET_COMMIT", "UNSTABLE_OFFSET_COMMIT");
        assertThat(fetch(c, "other", true)).as("another group's").containsExactly("-1", "-1");
        assertThat(c.committedOffsets(G)).containsExactly(Map.entry(T0, 5L));

        // and a marker of another producer changes nothing; the COMMIT marker of 7 makes them the committed ones
        log.marker(c, 8, true);
        assertThat(fetch(c, G, true)).containsExactly("UNSTABLE_OFFSET_COMMIT", "UNSTABLE_OFFSET_COMMIT");
        log.marker(c, 7, true);
        assertThat(fetch(c, G, true)).containsExactly("9", "4");
        assertThat(c.pendingTxnOffsets().snapshot()).isEmpty();
        OffsetFetchResponseData v7 = c.fetchOffsets(new OffsetFetchRequestData().setGroupId(G).setRequireStable(true)
                .setTopics(List.of(new OffsetFetchRequestData.OffsetFetchRequestTopic().setName("t")
                        .setPartitionIndexes(List.of(0)))), (short) 7);
        assertThat(v7.topics().get(0).partitions().get(0).committedOffset()).isEqualTo(9);
        assertThat(v7.topics().get(0).partitions().get(0).committedLeaderEpoch()).isEqualTo(3);
        assertThat(v7.topics().get(0).partitions().get(0).metadata()).isEqualTo("txn");
    }

    @Test
    void anAbortDropsThePendingOffsetsAndTheCommittedOnesStay() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults());
        Log log = new Log();
        log.persist(c, c.commitOffsets(commit(G, 0, 5), (short) 9, ONLY_T, 10).records());
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 9), TXN_V, ONLY_T, 20));
        // the same transaction commits t-0 again: the later offset replaces the earlier pending one
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 11), TXN_V, ONLY_T, 21));
        assertThat(c.pendingTxnOffsets().of(7, G)).extractingByKey(T0)
                .extracting(ClassicGroup.CommittedOffset::offset).isEqualTo(11L);

        log.marker(c, 7, false);

        assertThat(fetch(c, G, true)).containsExactly("5", "-1");
        assertThat(c.pendingTxnOffsets().snapshot()).isEmpty();
        // a later COMMIT marker of the same producer (a retry) finds nothing to apply
        log.marker(c, 7, true);
        assertThat(fetch(c, G, true)).containsExactly("5", "-1");
    }

    @Test
    void onCommitALaterRegularCommitOfThePartitionWinsAsInKafka() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults());
        Log log = new Log();
        // t-0: transactional 9 (offset 0 in the log), then a regular 12 (offset 1): the regular one is newer
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 9), TXN_V, ONLY_T, 10));
        log.persist(c, c.commitOffsets(commit(G, 0, 12), (short) 9, ONLY_T, 11).records());
        // t-1: regular 3, then transactional 4: the transactional one is newer
        log.persist(c, c.commitOffsets(commit(G, 1, 3), (short) 9, ONLY_T, 12).records());
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 1, 4), TXN_V, ONLY_T, 13));

        log.marker(c, 7, true);

        assertThat(fetch(c, G, false)).containsExactly("12", "4");
        assertThat(fetch(log.load(), G, false)).as("and so after a load").containsExactly("12", "4");
    }

    @Test
    void validationFollowsKafkasTransactionalRules() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = groupAtGenerationOne(c, true);
        String leader = ids.get(0);
        record Case(String what, TxnOffsetCommitRequestData request, Errors expected) {}
        List<Case> cases = List.of(
                new Case("member of the generation (v3+)", txnCommit(G, 7, 1, leader, 0, 1), Errors.NONE),
                new Case("no member nor generation (v0-2), members in", txnCommit(G, 7, -1, "", 0, 1), Errors.NONE),
                new Case("stale generation", txnCommit(G, 7, 0, leader, 0, 1), Errors.ILLEGAL_GENERATION),
                new Case("unknown member", txnCommit(G, 7, 1, "ghost", 0, 1), Errors.UNKNOWN_MEMBER_ID),
                new Case("unknown static member", txnCommit(G, 7, 1, leader, 0, 1).setGroupInstanceId("i9"),
                        Errors.UNKNOWN_MEMBER_ID),
                new Case("unknown group, generation -1", txnCommit("new", 7, -1, "", 0, 1), Errors.NONE),
                new Case("unknown group, a generation", txnCommit("new", 7, 1, "m", 0, 1),
                        Errors.ILLEGAL_GENERATION),
                new Case("empty group id", txnCommit("", 7, -1, "", 0, 1), Errors.INVALID_GROUP_ID),
                new Case("no producer id", txnCommit(G, -1, 1, leader, 0, 1), Errors.INVALID_PRODUCER_ID_MAPPING),
                new Case("no producer epoch", txnCommit(G, 7, 1, leader, 0, 1).setProducerEpoch((short) -1),
                        Errors.INVALID_PRODUCER_ID_MAPPING),
                new Case("unknown topic", txnCommit(G, 7, 1, leader, 0, 1).setTopics(List.of(
                        new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic().setName("gone").setPartitions(
                                txnCommit(G, 7, 1, leader, 0, 1).topics().get(0).partitions()))),
                        Errors.UNKNOWN_TOPIC_OR_PARTITION));
        for (Case k : cases) {
            TxnOffsetCommitDecision d = c.commitTransactionalOffsets(k.request(), TXN_V, ONLY_T, 10);
            assertThat(errors(d.response())).as(k.what()).containsExactly(k.expected());
            assertThat(d.records()).as(k.what()).hasSize(k.expected() == Errors.NONE ? 1 : 0);
        }
        TxnOffsetCommitRequestData big = txnCommit(G, 7, 1, leader, 0, 1, 1, 2);
        big.topics().get(0).partitions().get(0).setCommittedMetadata("x".repeat(4097));
        TxnOffsetCommitDecision d = c.commitTransactionalOffsets(big, TXN_V, ONLY_T, 10);
        assertThat(errors(d.response())).containsExactly(Errors.OFFSET_METADATA_TOO_LARGE, Errors.NONE);
        assertThat(errors(d.failed(Errors.NOT_ENOUGH_REPLICAS)))
                .containsExactly(Errors.OFFSET_METADATA_TOO_LARGE, Errors.COORDINATOR_NOT_AVAILABLE);
        assertThat(errors(d.failed(Errors.INVALID_PRODUCER_EPOCH))).as("the log fenced the producer")
                .containsExactly(Errors.OFFSET_METADATA_TOO_LARGE, Errors.INVALID_PRODUCER_EPOCH);
        assertThat(errors(d.failed(Errors.NOT_LEADER_OR_FOLLOWER)))
                .containsExactly(Errors.OFFSET_METADATA_TOO_LARGE, Errors.NOT_COORDINATOR);
    }

    @Test
    void aTransactionalCommitIsAcceptedWhileTheGroupCompletesItsRebalance() {
        // Kafka enforces the group's state for regular commits only
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = groupAtGenerationOne(c, false);
        assertThat(c.groupState(G)).isEqualTo("CompletingRebalance");
        assertThat(errors(c.commitTransactionalOffsets(txnCommit(G, 7, 1, ids.get(1), 0, 1), TXN_V, ONLY_T, 300)
                .response())).containsExactly(Errors.NONE);
    }

    @Test
    void aCommitBeyondTheGroupsBoundOfPendingOffsetsIsRefusedWhole() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withMaxPendingTxnOffsetsPerGroup(3));
        Log log = new Log();
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 1, 1, 1), TXN_V, ONLY_T, 10));

        // another producer's two new pending offsets would make 4 > 3
        TxnOffsetCommitDecision refused = c.commitTransactionalOffsets(txnCommit(G, 8, -1, "", 0, 2, 2, 2), TXN_V,
                tp -> true, 20);
        assertThat(errors(refused.response())).containsExactly(Errors.POLICY_VIOLATION, Errors.POLICY_VIOLATION);
        assertThat(refused.records()).isEmpty();
        // partitions it already has pending do not count again; one new one fits; another group is not counted
        assertThat(errors(log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 5, 1, 5, 2, 5),
                TXN_V, tp -> true, 30)))).containsOnly(Errors.NONE);
        assertThat(errors(c.commitTransactionalOffsets(txnCommit("h", 8, -1, "", 0, 2, 1, 2, 2, 2), TXN_V,
                tp -> true, 30).response())).containsOnly(Errors.NONE);
        // once 7 completes, 8 fits
        log.marker(c, 7, true);
        assertThat(errors(c.commitTransactionalOffsets(txnCommit(G, 8, -1, "", 0, 2, 2, 2), TXN_V, tp -> true, 40)
                .response())).containsOnly(Errors.NONE);
    }

    @Test
    void deletingAGroupDeletesThePendingOffsetsOfItsOpenTransactionsAsKafkaDoes() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults());
        Log log = new Log();
        log.persist(c, c.commitOffsets(commit(G, 0, 5), (short) 9, ONLY_T, 10).records());
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 6, 1, 6), TXN_V, ONLY_T, 20));

        var decision = c.deleteGroups(new DeleteGroupsRequestData().setGroupsNames(List.of(G)));

        assertThat(decision.records()).containsExactly(new OffsetTombstone(G, "t", 0), new OffsetTombstone(G, "t", 1),
                new GroupTombstone(G));
        log.persist(c, decision.records());
        assertThat(c.groupState(G)).isEqualTo("Dead");
        assertThat(c.pendingTxnOffsets().snapshot()).isEmpty();
        // the transaction's COMMIT brings nothing back
        log.marker(c, 7, true);
        assertThat(c.groupIds()).isEmpty();
        assertThat(log.load().groupIds()).isEmpty();
    }

    @Test
    void offsetDeleteOfAPartitionWithOnlyAPendingOffsetWritesATombstone() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults());
        Log log = new Log();
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 1, 6), TXN_V, ONLY_T, 20));
        OffsetDeleteRequestData req = new OffsetDeleteRequestData().setGroupId(G);
        OffsetDeleteRequestData.OffsetDeleteRequestTopic topic =
                new OffsetDeleteRequestData.OffsetDeleteRequestTopic().setName("t");
        topic.partitions().add(new OffsetDeleteRequestData.OffsetDeleteRequestPartition().setPartitionIndex(0));
        topic.partitions().add(new OffsetDeleteRequestData.OffsetDeleteRequestPartition().setPartitionIndex(1));
        req.topics().add(topic);

        var decision = c.deleteOffsets(req);

        assertThat(decision.records()).containsExactly(new OffsetTombstone(G, "t", 1));
        log.persist(c, decision.records());
        log.marker(c, 7, true);
        assertThat(fetch(c, G, true)).containsExactly("-1", "-1");
    }

    @Test
    void anOpenTransactionKeepsItsPartitionsOffsetAndItsGroupFromExpiring() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withOffsetsRetention(1_000, 0));
        Log log = new Log();
        log.persist(c, c.commitOffsets(commit(G, 0, 5), (short) 9, ONLY_T, 0).records());
        log.persist(c, c.commitOffsets(commit(G, 1, 5), (short) 9, ONLY_T, 0).records());
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, -1, "", 0, 6), TXN_V, ONLY_T, 0));
        // a group with nothing but an open transaction's offset
        log.persist(c, c.commitTransactionalOffsets(txnCommit("h", 8, -1, "", 0, 6), TXN_V, ONLY_T, 0));

        List<GroupRecord> expired = c.onTick(5_000);
        assertThat(expired).containsExactly(new OffsetTombstone(G, "t", 1));
        log.persist(c, expired);

        log.marker(c, 7, false);
        log.marker(c, 8, false);
        assertThat(c.onTick(6_000)).containsExactly(new OffsetTombstone(G, "t", 0), new GroupTombstone(G),
                new GroupTombstone("h"));
    }

    @Test
    void aLoadOfRecordsAndMarkersRebuildsTheSameCommittedAndPendingOffsets() {
        // Given a log with regular commits, a committed, an aborted and an open transaction, membership and tombstones
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        Log log = new Log();
        List<String> ids = groupAtGenerationOne(c, true);
        log.persist(c, c.takeRecords());
        log.persist(c, c.commitOffsets(commit("s", 0, 1), (short) 9, ONLY_T, 10).records());
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 7, 1, ids.get(0), 0, 10, 1, 11), TXN_V, ONLY_T,
                20));
        log.persist(c, c.commitTransactionalOffsets(txnCommit("s", 8, -1, "", 0, 20, 1, 21), TXN_V, ONLY_T, 21));
        log.persist(c, c.commitTransactionalOffsets(txnCommit(G, 9, -1, "", 0, 30), TXN_V, ONLY_T, 22));
        log.marker(c, 7, true);
        log.persist(c, c.commitOffsets(commit("s", 1, 2), (short) 9, ONLY_T, 23).records());
        log.marker(c, 8, false);
        log.persist(c, c.commitTransactionalOffsets(txnCommit("s", 7, -1, "", 1, 40), TXN_V, ONLY_T, 24));

        // When a new coordinator loads it, whole and in chunks
        GroupCoordinator whole = log.load();
        GroupCoordinator chunked = coordinator(GroupCoordinatorConfig.defaults());
        chunked.load(log.entries.subList(0, 4), 1_000_000);
        for (int from = 4; from < log.entries.size(); from += 3) {
            chunked.loadMore(log.entries.subList(from, Math.min(from + 3, log.entries.size())), 1_000_000);
        }

        // Then both have the same committed and pending offsets as the live coordinator
        for (GroupCoordinator loaded : List.of(whole, chunked)) {
            for (String group : List.of(G, "s")) {
                assertThat(loaded.committedOffsets(group)).as(group).isEqualTo(c.committedOffsets(group));
                assertThat(fetch(loaded, group, true)).as(group).isEqualTo(fetch(c, group, true));
            }
            assertThat(loaded.pendingTxnOffsets().snapshot()).isEqualTo(c.pendingTxnOffsets().snapshot());
        }
        assertThat(c.committedOffsets(G)).containsExactly(Map.entry(T0, 10L), Map.entry(T1, 11L));
        assertThat(c.committedOffsets("s")).containsExactly(Map.entry(T0, 1L), Map.entry(T1, 2L));
        assertThat(fetch(c, G, true)).containsExactly("UNSTABLE_OFFSET_COMMIT", "11");
        assertThat(fetch(c, "s", true)).containsExactly("1", "UNSTABLE_OFFSET_COMMIT");
        assertThat(whole.groupState(G)).isEqualTo("Stable");

        // and the open transactions complete there as they would have here
        for (GroupCoordinator coordinator : List.of(c, whole, chunked)) {
            coordinator.completeTransaction(9, true);
            coordinator.completeTransaction(7, false);
        }
        assertThat(whole.committedOffsets(G)).isEqualTo(c.committedOffsets(G)).containsEntry(T0, 30L);
        assertThat(chunked.committedOffsets("s")).isEqualTo(c.committedOffsets("s")).containsEntry(T1, 2L);
    }
}
