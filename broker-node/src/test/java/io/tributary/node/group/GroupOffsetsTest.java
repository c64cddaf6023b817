package io.tributary.node.group;

import static io.tributary.node.group.GroupTestSupport.JOIN_V;
import static io.tributary.node.group.GroupTestSupport.assign;
import static io.tributary.node.group.GroupTestSupport.coordinator;
import static io.tributary.node.group.GroupTestSupport.done;
import static io.tributary.node.group.GroupTestSupport.error;
import static io.tributary.node.group.GroupTestSupport.heartbeat;
import static io.tributary.node.group.GroupTestSupport.join;
import static io.tributary.node.group.GroupTestSupport.memberIds;
import static io.tributary.node.group.GroupTestSupport.subscription;
import static io.tributary.node.group.GroupTestSupport.sync;
import static io.tributary.node.group.GroupTestSupport.syncNow;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.group.GroupRecord.GroupMetadataRecord;
import io.tributary.node.group.GroupRecord.GroupTombstone;
import io.tributary.node.group.GroupRecord.MemberRecord;
import io.tributary.node.group.GroupRecord.OffsetCommitRecord;
import io.tributary.node.group.GroupRecord.OffsetTombstone;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;

class GroupOffsetsTest {

    private static final String G = "g";
    private static final Predicate<TopicPartition> ONLY_T = tp -> tp.topic().equals("t");

    /** Appends (here: keeps, at the next offset) and replays a decision's records, as the driver does. */
    private static List<GroupRecord> persist(GroupCoordinator c, List<GroupLogEntry> log, List<GroupRecord> records) {
        for (GroupRecord r : records) {
            GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
            GroupRecord decoded = GroupRecordCodec.decode(e.key(), e.value());
            long offset = log.size();
            log.add(new GroupLogEntry.Data(offset, decoded));
            c.replay(decoded, offset);
        }
        return records;
    }

    private static OffsetCommitRequestData commit(int generation, String memberId, Object... topicPartitionOffset) {
        OffsetCommitRequestData req = new OffsetCommitRequestData().setGroupId(G)
                .setGenerationIdOrMemberEpoch(generation).setMemberId(memberId);
        for (int i = 0; i < topicPartitionOffset.length; i += 3) {
            req.topics().add(new OffsetCommitRequestData.OffsetCommitRequestTopic()
                    .setName((String) topicPartitionOffset[i])
                    .setPartitions(List.of(new OffsetCommitRequestData.OffsetCommitRequestPartition()
                            .setPartitionIndex((Integer) topicPartitionOffset[i + 1])
                            .setCommittedOffset((Long) topicPartitionOffset[i + 2])
                            .setCommittedLeaderEpoch(7).setCommittedMetadata("m"))));
        }
        return req;
    }

    private static List<Errors> errors(OffsetCommitResponseData r) {
        List<Errors> list = new ArrayList<>();
        r.topics().forEach(t -> t.partitions().forEach(p -> list.add(error(p.errorCode()))));
        return list;
    }

    /** A Stable group of two members at generation 1; returns their ids (leader first). */
    private static List<String> stableGroup(GroupCoordinator c) {
        List<String> ids = memberIds(c, G, 2, 0);
        var ja = c.joinGroup(join(G, ids.get(0), null, subscription("t")), JOIN_V, "c0", "/h", 0);
        var jb = c.joinGroup(join(G, ids.get(1), null, subscription("t")), JOIN_V, "c1", "/h", 0);
        c.onTick(100);
        c.onTick(200);
        assertThat(done(ja).generationId()).isEqualTo(1);
        done(jb);
        syncNow(c, sync(G, ids.get(0), 1, List.of(assign(ids.get(0), "A"), assign(ids.get(1), "B"))), 200);
        syncNow(c, sync(G, ids.get(1), 1, List.of()), 200);
        return ids;
    }

    @Test
    void badCommitsGetKafkasErrorsWhileTheGroupCarriesOn() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = stableGroup(c);
        List<GroupLogEntry> log = new ArrayList<>();

        // stale generation, unknown member, missing topic, standalone commit while members are in
        var stale = c.commitOffsets(commit(0, ids.get(0), "t", 0, 5L), (short) 9, ONLY_T, 10);
        var unknown = c.commitOffsets(commit(1, "ghost", "t", 0, 5L), (short) 9, ONLY_T, 10);
        var missing = c.commitOffsets(commit(1, ids.get(1), "t", 1, 5L, "gone", 0, 3L), (short) 9, ONLY_T, 10);
        var standalone = c.commitOffsets(commit(-1, "", "t", 0, 5L), (short) 9, ONLY_T, 10);
        assertThat(errors(stale.response())).containsExactly(Errors.ILLEGAL_GENERATION);
        assertThat(stale.records()).isEmpty();
        assertThat(errors(unknown.response())).containsExactly(Errors.UNKNOWN_MEMBER_ID);
        assertThat(errors(standalone.response())).containsExactly(Errors.UNKNOWN_MEMBER_ID);
        assertThat(errors(missing.response())).containsExactly(Errors.NONE, Errors.UNKNOWN_TOPIC_OR_PARTITION);
        assertThat(missing.records()).singleElement()
                .isEqualTo(new OffsetCommitRecord(G, "t", 1, 5L, 7, "m", 10));

        // state changes on replay only
        assertThat(c.committedOffsets(G)).isEmpty();
        persist(c, log, missing.records());
        assertThat(c.committedOffsets(G)).containsExactly(Map.entry(new TopicPartition("t", 1), 5L));

        // and the group carries on for everyone
        assertThat(error(c.heartbeat(heartbeat(G, ids.get(0), 1), 20).errorCode())).isEqualTo(Errors.NONE);
        assertThat(errors(c.commitOffsets(commit(1, ids.get(0), "t", 0, 9L), (short) 9, ONLY_T, 20).response()))
                .containsExactly(Errors.NONE);
        assertThat(c.groupState(G)).isEqualTo("Stable");

        // metadata too large; a failed append maps to a coordinator error
        OffsetCommitRequestData big = commit(1, ids.get(0), "t", 0, 1L);
        big.topics().get(0).partitions().get(0).setCommittedMetadata("x".repeat(4097));
        assertThat(errors(c.commitOffsets(big, (short) 9, ONLY_T, 30).response()))
                .containsExactly(Errors.OFFSET_METADATA_TOO_LARGE);
        var ok = c.commitOffsets(commit(1, ids.get(0), "t", 0, 9L), (short) 9, ONLY_T, 20);
        assertThat(errors(ok.failed(Errors.NOT_ENOUGH_REPLICAS))).containsExactly(Errors.COORDINATOR_NOT_AVAILABLE);
        // a member's commit to a group this coordinator does not know
        assertThat(errors(c.commitOffsets(commit(1, "m", "t", 0, 1L).setGroupId("other"), (short) 9, ONLY_T, 30)
                .response())).containsExactly(Errors.ILLEGAL_GENERATION);
    }

    @Test
    void committedOffsetsSurviveReplayIntoAFreshCoordinator() {
        // Given a stable group with commits, all records through the byte encoding
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = stableGroup(c);
        List<GroupLogEntry> log = new ArrayList<>();
        persist(c, log, c.takeRecords());
        persist(c, log, c.commitOffsets(commit(1, ids.get(0), "t", 0, 42L, "t", 1, 17L), (short) 9, ONLY_T, 50)
                .records());
        persist(c, log, c.commitOffsets(commit(1, ids.get(1), "t", 1, 18L), (short) 9, ONLY_T, 60).records());

        // When a new coordinator loads the partition
        GroupCoordinator successor = coordinator(GroupCoordinatorConfig.defaults());
        successor.load(log, 1_000);

        // Then OffsetFetch answers the same, in both the single-group and multi-group versions
        OffsetFetchRequestData v7 = new OffsetFetchRequestData().setGroupId(G).setTopics(List.of(
                new OffsetFetchRequestData.OffsetFetchRequestTopic().setName("t").setPartitionIndexes(List.of(0, 1,
                        2))));
        for (GroupCoordinator coordinator : List.of(c, successor)) {
            OffsetFetchResponseData r = coordinator.fetchOffsets(v7, (short) 7);
            assertThat(r.topics().get(0).partitions()).extracting(
                    OffsetFetchResponseData.OffsetFetchResponsePartition::committedOffset).containsExactly(42L, 18L,
                    -1L);
            assertThat(r.topics().get(0).partitions().get(0).committedLeaderEpoch()).isEqualTo(7);
            assertThat(r.topics().get(0).partitions().get(0).metadata()).isEqualTo("m");
        }
        OffsetFetchResponseData all = successor.fetchOffsets(new OffsetFetchRequestData().setGroups(List.of(
                new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(G).setTopics(null),
                new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId("unknown").setTopics(null))),
                (short) 8);
        assertThat(all.groups().get(0).topics().get(0).partitions()).extracting(
                OffsetFetchResponseData.OffsetFetchResponsePartitions::committedOffset).containsExactly(42L, 18L);
        assertThat(all.groups().get(1).topics()).isEmpty();
        assertThat(successor.committedOffsets(G)).isEqualTo(c.committedOffsets(G));
        // and the members are restored with their generation and sessions restarted at load time
        assertThat(successor.groupState(G)).isEqualTo("Stable");
        assertThat(error(successor.heartbeat(heartbeat(G, ids.get(1), 1), 1_100).errorCode())).isEqualTo(Errors.NONE);
        successor.onTick(11_000);
        assertThat(error(successor.heartbeat(heartbeat(G, ids.get(0), 1), 11_000).errorCode()))
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void everyRecordRoundTripsThroughItsBytes() {
        List<GroupRecord> records = List.of(
                new OffsetCommitRecord("g", "t", 3, 99L, -1, "", 123L),
                new OffsetCommitRecord("gé", "tópico", 0, Long.MAX_VALUE, 5, "meta\u2603", -1L),
                new OffsetTombstone("g", "t", 3),
                new GroupMetadataRecord("g", "consumer", "range", 4, "m1", 77L, List.of(
                        new MemberRecord("m1", null, "c1", "/h1", 100, 200, new byte[] {1, 2}, new byte[] {3}),
                        new MemberRecord("m2", "i2", "c2", "/h2", 300, 400, new byte[0], new byte[0]))),
                new GroupMetadataRecord("g", null, null, 0, null, 0L, List.of()),
                new GroupTombstone("g"));
        for (GroupRecord r : records) {
            GroupRecordCodec.Encoded e = GroupRecordCodec.encode(r);
            assertThat(GroupRecordCodec.decode(e.key(), e.value())).usingRecursiveComparison().isEqualTo(r);
        }
        assertThat(GroupRecordCodec.encode(new GroupTombstone("g")).value()).isNull();
        assertThat(GroupRecordCodec.encode(new OffsetTombstone("g", "t", 3)).key())
                .isEqualTo(GroupRecordCodec.encode(records.get(0)).key());
    }

    @Test
    void offsetsExpireAfterRetentionCountedFromWhenTheGroupBecameEmpty() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100)
                .withOffsetsRetention(1_000, 0));
        List<GroupLogEntry> log = new ArrayList<>();
        List<String> ids = stableGroup(c);
        persist(c, log, c.commitOffsets(commit(1, ids.get(0), "t", 0, 5L), (short) 9, ONLY_T, 0).records());
        // while members are in, the offsets stay however old they get
        assertThat(c.onTick(300)).noneMatch(r -> r instanceof OffsetTombstone);
        c.leaveGroup(new LeaveGroupRequestData().setGroupId(G).setMembers(List.of(
                new LeaveGroupRequestData.MemberIdentity().setMemberId(ids.get(0)),
                new LeaveGroupRequestData.MemberIdentity().setMemberId(ids.get(1)))), (short) 5, 5_000);
        assertThat(c.groupState(G)).isEqualTo("Empty");
        persist(c, log, c.takeRecords());
        assertThat(persist(c, log, c.onTick(5_999))).isEmpty();
        assertThat(persist(c, log, c.onTick(6_000)))
                .containsExactly(new OffsetTombstone(G, "t", 0), new GroupTombstone(G));
        assertThat(c.committedOffsets(G)).isEmpty();
        assertThat(c.groupState(G)).isEqualTo("Dead");
        // a fresh coordinator loading the log agrees
        GroupCoordinator successor = coordinator(GroupCoordinatorConfig.defaults());
        successor.load(log, 7_000);
        assertThat(successor.groupIds()).isEmpty();
    }

    @Test
    void standaloneCommitsExpireByCommitTime() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withOffsetsRetention(1_000, 0));
        persist(c, new ArrayList<>(), c.commitOffsets(commit(-1, "", "t", 0, 5L), (short) 9, ONLY_T, 100)
                .records());
        assertThat(c.groupState(G)).isEqualTo("Empty");
        assertThat(c.onTick(1_099)).isEmpty();
        assertThat(c.onTick(1_100)).contains(new OffsetTombstone(G, "t", 0));
    }

    @Test
    void deleteGroupsRefusesNonEmptyAndUnknownGroupsAndDeletesEmptyOnes() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = stableGroup(c);
        persist(c, new ArrayList<>(), c.commitOffsets(commit(-1, "", "t", 0, 5L).setGroupId("idle"), (short) 9,
                ONLY_T, 0).records());
        var decision = c.deleteGroups(new DeleteGroupsRequestData().setGroupsNames(List.of(G, "idle", "nope")));
        assertThat(decision.response().results()).extracting(r -> r.groupId() + "=" + error(r.errorCode()))
                .containsExactly("g=NON_EMPTY_GROUP", "idle=NONE", "nope=GROUP_ID_NOT_FOUND");
        assertThat(decision.records()).containsExactly(new OffsetTombstone("idle", "t", 0),
                new GroupTombstone("idle"));
        assertThat(c.groupState("idle")).isEqualTo("Empty"); // until replayed
        persist(c, new ArrayList<>(), decision.records());
        assertThat(c.groupState("idle")).isEqualTo("Dead");
        assertThat(c.groupIds()).containsExactly(G);
        assertThat(ids).hasSize(2);
    }

    @Test
    void offsetDeleteRefusesSubscribedTopics() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = stableGroup(c); // subscribed to "t"
        persist(c, new ArrayList<>(), c.commitOffsets(commit(1, ids.get(0), "t", 0, 5L, "u", 0, 6L), (short) 9,
                tp -> true, 0).records());
        OffsetDeleteRequestData req = new OffsetDeleteRequestData().setGroupId(G);
        for (String topic : List.of("t", "u")) {
            req.topics().add(new OffsetDeleteRequestData.OffsetDeleteRequestTopic().setName(topic)
                    .setPartitions(List.of(new OffsetDeleteRequestData.OffsetDeleteRequestPartition()
                            .setPartitionIndex(0))));
        }
        var decision = c.deleteOffsets(req);
        assertThat(error(decision.response().topics().find("t").partitions().find(0).errorCode()))
                .isEqualTo(Errors.GROUP_SUBSCRIBED_TO_TOPIC);
        assertThat(error(decision.response().topics().find("u").partitions().find(0).errorCode()))
                .isEqualTo(Errors.NONE);
        assertThat(decision.records()).containsExactly(new OffsetTombstone(G, "u", 0));
        assertThat(error(c.deleteOffsets(new OffsetDeleteRequestData().setGroupId("nope")).response().errorCode()))
                .isEqualTo(Errors.GROUP_ID_NOT_FOUND);
    }
}
