package io.tributary.node.group;

import static io.tributary.node.group.GroupTestSupport.JOIN_V;
import static io.tributary.node.group.GroupTestSupport.SESSION_MS;
import static io.tributary.node.group.GroupTestSupport.error;
import static io.tributary.node.group.GroupTestSupport.heartbeat;
import static io.tributary.node.group.GroupTestSupport.join;
import static io.tributary.node.group.GroupTestSupport.subscription;
import static io.tributary.node.group.GroupTestSupport.sync;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A seeded simulation of clients joining, syncing, heartbeating, leaving and going silent, with virtual time,
 * checking the coordinator's invariants after every step (STYLE rule 12). A failing seed replays.
 */
class GroupSimulationTest {

    private static final String G = "g";
    private static final int STEPS = 4_000;

    /** One simulated consumer. */
    private static final class Client {
        final String clientId;
        final String instanceId;
        String memberId = "";
        int generation = -1;
        boolean silent;
        CompletableFuture<JoinGroupResponseData> join;
        CompletableFuture<SyncGroupResponseData> sync;
        final List<String> pastMemberIds = new ArrayList<>();

        Client(String clientId, String instanceId) {
            this.clientId = clientId;
            this.instanceId = instanceId;
        }
    }

    private final Map<Integer, String> leaderByGeneration = new HashMap<>();
    private final Map<Integer, Map<String, byte[]>> assignmentsByGeneration = new HashMap<>();
    private final List<CompletableFuture<?>> everyFuture = new ArrayList<>();
    private int highestGeneration;
    private int syncsDone;

    @ParameterizedTest
    @ValueSource(longs = {1L, 2L, 3L, 42L, 20240607L})
    void invariantsHoldUnderRandomJoinsLeavesHeartbeatsAndTicks(long seed) {
        System.out.println("group simulation seed=" + seed);
        Random random = new Random(seed);
        GroupCoordinator c = GroupTestSupport.coordinator(GroupCoordinatorConfig.defaults()
                .withInitialRebalanceDelayMs(random.nextInt(2) * 500));
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            clients.add(new Client("c" + i, i % 3 == 0 ? "instance-" + i : null));
        }
        long now = 0;
        for (int step = 0; step < STEPS; step++) {
            int action = random.nextInt(10);
            if (action < 3) {
                now += random.nextInt(3_000);
                c.onTick(now);
                checkSessions(c, now);
            } else {
                Client client = clients.get(random.nextInt(clients.size()));
                act(c, client, random, now);
            }
            for (Client client : clients) {
                react(c, client, now);
            }
            checkInvariants(c, now, "seed=" + seed + " step=" + step);
        }
        // Finally everyone goes silent: every outstanding request is answered and the group empties.
        for (int i = 0; i < 200; i++) {
            now += 1_000;
            c.onTick(now);
            checkInvariants(c, now, "seed=" + seed + " drain");
        }
        System.out.println("seed=" + seed + " generations=" + highestGeneration + " syncs=" + syncsDone
                + " requests=" + everyFuture.size());
        assertThat(highestGeneration).as("the simulation got through rebalances").isGreaterThan(10);
        assertThat(syncsDone).as("members got assignments").isGreaterThan(20);
        assertThat(everyFuture).allMatch(CompletableFuture::isDone);
        assertThat(c.groupState(G)).isIn("Empty", "Dead");
    }

    private void act(GroupCoordinator c, Client client, Random random, long now) {
        if (client.silent) {
            client.silent = random.nextInt(4) != 0; // a restarted process forgets its member id
            if (!client.silent && client.instanceId == null) {
                client.memberId = "";
            }
            return;
        }
        if (client.join != null || client.sync != null) {
            return; // blocked in a request
        }
        int choice = random.nextInt(10);
        if (client.generation < 0 || choice < 1) {
            sendJoin(c, client, now);
        } else if (choice < 7) {
            Errors e = error(c.heartbeat(heartbeat(G, client.memberId, client.generation)
                    .setGroupInstanceId(client.instanceId), now).errorCode());
            handleError(client, e);
        } else if (choice < 8) {
            c.leaveGroup(new LeaveGroupRequestData().setGroupId(G).setMembers(List.of(
                    new LeaveGroupRequestData.MemberIdentity().setMemberId(client.memberId)
                            .setGroupInstanceId(client.instanceId))), (short) 5, now);
            client.memberId = "";
            client.generation = -1;
        } else {
            client.silent = true; // stops heartbeating (a crash or a long GC)
        }
    }

    private void sendJoin(GroupCoordinator c, Client client, long now) {
        client.join = c.joinGroup(join(G, client.memberId, client.instanceId, subscription("t")), JOIN_V,
                client.clientId, "/h", now);
        everyFuture.add(client.join);
    }

    private void handleError(Client client, Errors e) {
        switch (e) {
            case NONE -> { }
            case REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION -> client.generation = -1;
            case UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID -> {
                client.memberId = "";
                client.generation = -1;
            }
            default -> throw new AssertionError("unexpected error " + e);
        }
    }

    /** Handles completed responses the way a consumer does (the leader assigns, everyone syncs). */
    private void react(GroupCoordinator c, Client client, long now) {
        if (client.join != null && client.join.isDone()) {
            JoinGroupResponseData r = client.join.join();
            client.join = null;
            Errors e = error(r.errorCode());
            if (e == Errors.MEMBER_ID_REQUIRED) {
                client.memberId = r.memberId();
                return;
            }
            if (e != Errors.NONE) {
                handleError(client, e);
                return;
            }
            client.memberId = r.memberId();
            client.pastMemberIds.add(r.memberId());
            client.generation = r.generationId();
            String previousLeader = leaderByGeneration.putIfAbsent(r.generationId(), r.leader());
            assertThat(previousLeader).as("one leader in generation %s", r.generationId())
                    .isIn(null, r.leader());
            List<SyncGroupRequestData.SyncGroupRequestAssignment> assignments = new ArrayList<>();
            if (!r.members().isEmpty() && !r.skipAssignment()) {
                assertThat(r.leader()).isEqualTo(r.memberId());
                Map<String, byte[]> given = new HashMap<>();
                for (JoinGroupResponseData.JoinGroupResponseMember m : r.members()) {
                    byte[] value = ("gen" + r.generationId() + "-" + m.memberId()).getBytes();
                    given.put(m.memberId(), value);
                    assignments.add(new SyncGroupRequestData.SyncGroupRequestAssignment().setMemberId(m.memberId())
                            .setAssignment(value));
                }
                assignmentsByGeneration.put(r.generationId(), given);
            }
            client.sync = c.syncGroup(sync(G, client.memberId, client.generation, assignments)
                    .setGroupInstanceId(client.instanceId), (short) 5, now);
            everyFuture.add(client.sync);
        }
        if (client.sync != null && client.sync.isDone()) {
            SyncGroupResponseData r = client.sync.join();
            client.sync = null;
            Errors e = error(r.errorCode());
            if (e != Errors.NONE) {
                handleError(client, e);
                return;
            }
            Map<String, byte[]> given = assignmentsByGeneration.get(client.generation);
            assertThat(given).as("an assignment exists for generation %s", client.generation).isNotNull();
            assertThat(client.pastMemberIds).as("the assignment is this member's")
                    .anyMatch(id -> given.containsKey(id) && Arrays.equals(given.get(id), r.assignment()));
            syncsDone++;
        }
    }

    private void checkInvariants(GroupCoordinator c, long now, String where) {
        ClassicGroup group = c.group(G);
        if (group == null) {
            return;
        }
        assertThat(group.generation).as("generation never decreases, " + where)
                .isGreaterThanOrEqualTo(highestGeneration);
        highestGeneration = group.generation;
        if (!group.members.isEmpty()) {
            assertThat(group.members).as("the leader is a member, " + where).containsKey(group.leaderId);
        }
        if (group.is(GroupState.Empty.class)) {
            assertThat(group.members).as("an Empty group has no members, " + where).isEmpty();
        }
        if (group.is(GroupState.Stable.class)) {
            for (GroupMember m : group.members.values()) {
                assertThat(m.assignment).as("every Stable member has an assignment, " + where).isNotEmpty();
            }
        }
        for (GroupMember m : group.members.values()) {
            long bound = Math.max(SESSION_MS, GroupCoordinatorConfig.DEFAULT_NEW_MEMBER_JOIN_TIMEOUT_MS);
            assertThat(m.sessionDeadlineMs - now).as("a session is never extended beyond its timeout, " + where)
                    .isLessThanOrEqualTo(bound);
        }
    }

    /** Right after a tick, no member that could heartbeat has outlived its session. */
    private static void checkSessions(GroupCoordinator c, long now) {
        ClassicGroup group = c.group(G);
        if (group == null) {
            return;
        }
        for (GroupMember m : group.members.values()) {
            assertThat(m.sessionExempt() || m.sessionDeadlineMs > now)
                    .as("member %s outlived its session at %s", m.memberId, now).isTrue();
        }
    }
}
