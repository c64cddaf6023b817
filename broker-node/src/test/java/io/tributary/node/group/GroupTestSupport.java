package io.tributary.node.group;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.clients.consumer.internals.ConsumerProtocol;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.utils.Utils;

/** Request builders for the group coordinator tests (latest versions unless said). */
final class GroupTestSupport {

    static final short JOIN_V = 9;
    static final short SYNC_V = 5;
    static final short LEAVE_V = 5;
    static final int SESSION_MS = 10_000;
    static final int REBALANCE_MS = 20_000;

    private GroupTestSupport() {
    }

    static GroupCoordinator coordinator(GroupCoordinatorConfig config) {
        int[] counter = {0};
        return new GroupCoordinator(config, () -> String.valueOf(++counter[0]));
    }

    static byte[] subscription(String... topics) {
        ByteBuffer b = ConsumerProtocol.serializeSubscription(new ConsumerPartitionAssignor.Subscription(
                List.of(topics)));
        return Utils.toArray(b);
    }

    static JoinGroupRequestData join(String group, String memberId, String instanceId, byte[] metadata) {
        JoinGroupRequestData.JoinGroupRequestProtocolCollection protocols =
                new JoinGroupRequestData.JoinGroupRequestProtocolCollection();
        protocols.add(new JoinGroupRequestData.JoinGroupRequestProtocol().setName("range").setMetadata(metadata));
        return new JoinGroupRequestData().setGroupId(group).setMemberId(memberId).setGroupInstanceId(instanceId)
                .setSessionTimeoutMs(SESSION_MS).setRebalanceTimeoutMs(REBALANCE_MS).setProtocolType("consumer")
                .setProtocols(protocols);
    }

    static SyncGroupRequestData sync(String group, String memberId, int generation,
            List<SyncGroupRequestData.SyncGroupRequestAssignment> assignments) {
        return new SyncGroupRequestData().setGroupId(group).setMemberId(memberId).setGenerationId(generation)
                .setProtocolType("consumer").setProtocolName("range").setAssignments(assignments);
    }

    static SyncGroupRequestData.SyncGroupRequestAssignment assign(String memberId, String value) {
        return new SyncGroupRequestData.SyncGroupRequestAssignment().setMemberId(memberId)
                .setAssignment(value.getBytes());
    }

    static HeartbeatRequestData heartbeat(String group, String memberId, int generation) {
        return new HeartbeatRequestData().setGroupId(group).setMemberId(memberId).setGenerationId(generation);
    }

    static <T> T done(CompletableFuture<T> future) {
        if (!future.isDone()) {
            throw new AssertionError("future not completed");
        }
        return future.join();
    }

    static Errors error(short code) {
        return Errors.forCode(code);
    }

    /** Dynamic members joining a new group with KIP-394's two-step join, in order; returns their member ids. */
    static List<String> memberIds(GroupCoordinator c, String group, int count, long nowMs) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            JoinGroupResponseData r = done(c.joinGroup(join(group, "", null, subscription("t")), JOIN_V,
                    "client" + i, "/10.0.0." + i, nowMs));
            if (error(r.errorCode()) != Errors.MEMBER_ID_REQUIRED) {
                throw new AssertionError("expected MEMBER_ID_REQUIRED, got " + error(r.errorCode()));
            }
            ids.add(r.memberId());
        }
        return ids;
    }

    static SyncGroupResponseData syncNow(GroupCoordinator c, SyncGroupRequestData req, long nowMs) {
        return done(c.syncGroup(req, SYNC_V, nowMs));
    }
}
