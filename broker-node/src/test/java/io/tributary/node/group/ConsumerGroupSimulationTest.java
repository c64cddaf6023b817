package io.tributary.node.group;

import static io.tributary.node.group.ConsumerGroupTestSupport.HEARTBEAT_V;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.group.ConsumerGroupTestSupport.Log;
import io.tributary.node.group.ConsumerGroupTestSupport.Topics;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A seeded simulation of KIP-848 consumers joining, heartbeating, leaving, dying and losing answers, with coordinator
 * fail-overs (a successor loads every record appended so far through the codec) and topics growing, in virtual
 * time (STYLE rule 12). After every event: no partition is owned by two live consumers (owned = what a consumer
 * holds, which it reports in its next heartbeat), and the coordinator's partition epochs match its members. At the
 * end, with no more faults, every subscribed partition is owned by exactly one live consumer and the group is
 * Stable. A failing seed replays.
 */
class ConsumerGroupSimulationTest {

    private static final String G = "g";
    private static final int STEPS = 3_000;
    private static final int CLIENTS = 6;

    /** One simulated consumer: what it owns, its epoch, and whether it is in the group. */
    private static final class Client {
        final String memberId;
        final List<String> topics;
        boolean joined;
        boolean dead;
        int epoch;
        Map<Uuid, Set<Integer>> owned = new TreeMap<>();
        long nextHeartbeatMs;

        Client(String memberId, List<String> topics) {
            this.memberId = memberId;
            this.topics = topics;
        }
    }

    private final Topics topics = new Topics().add("a", 6).add("b", 3);
    private final Log log = new Log();
    private final ConsumerGroupConfig config = new ConsumerGroupConfig(10_000, 1_000, 1000,
            List.of("uniform", "range"));
    private GroupCoordinator c;
    private long now;

    @ParameterizedTest
    @ValueSource(longs = {1L, 2L, 3L, 42L, 20261201L})
    void noPartitionIsOwnedTwiceAndEveryPartitionEndsUpOwned(long seed) {
        System.out.println("consumer group simulation seed=" + seed);
        Random random = new Random(seed);
        c = ConsumerGroupTestSupport.coordinator(config);
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            clients.add(new Client("m" + i, i % 3 == 2 ? List.of("a") : List.of("a", "b")));
        }
        for (int step = 0; step < STEPS; step++) {
            int action = random.nextInt(100);
            Client client = clients.get(random.nextInt(clients.size()));
            if (action < 55) {
                if (!client.dead) {
                    heartbeat(client, random.nextInt(10) == 0);
                }
            } else if (action < 75) {
                now += random.nextInt(800);
                log.append(c.onTick(now));
                // Live consumers heartbeat on time (before their session ends), as a live KafkaConsumer does.
                for (Client live : clients) {
                    if (!live.dead && live.joined && now >= live.nextHeartbeatMs) {
                        heartbeat(live, false);
                    }
                }
            } else if (action < 80) {
                if (client.joined && !client.dead) { // leaves: gives its partitions up, then says so
                    client.owned.clear();
                    send(client, new ConsumerGroupHeartbeatRequestData().setGroupId(G).setMemberId(client.memberId)
                            .setMemberEpoch(-1));
                    client.joined = false;
                }
            } else if (action < 84) {
                client.dead = true; // killed: holds nothing any more, never heartbeats again
                client.owned.clear();
            } else if (action < 88) {
                if (client.dead) { // a restarted process: a fresh consumer with the same id
                    client.dead = false;
                    client.joined = false;
                }
            } else if (action < 90) {
                c = log.load(config, now); // coordinator fail-over
            } else if (action < 91) {
                String topic = random.nextBoolean() ? "a" : "b";
                topics.add(topic, Math.min(topics.byName(topic).numPartitions() + 1, 12));
            } else if (!client.dead && client.joined) {
                heartbeat(client, false);
            }
            checkInvariants(clients, seed, step);
        }
        // The end: no more faults; every live consumer heartbeats until the group settles.
        clients.forEach(cl -> {
            if (!cl.dead && !cl.joined) {
                heartbeat(cl, false);
            }
        });
        for (int round = 0; round < 30; round++) {
            now += 1_000;
            log.append(c.onTick(now));
            for (Client cl : clients) {
                if (!cl.dead) {
                    heartbeat(cl, false);
                }
                checkInvariants(clients, seed, STEPS + round);
            }
        }
        assertThat(c.groupState(G)).as("seed %d", seed).isIn("Stable", "Empty");
        Map<Uuid, Set<Integer>> owned = new HashMap<>();
        clients.stream().filter(cl -> !cl.dead).forEach(cl -> cl.owned.forEach(
                (t, ps) -> owned.computeIfAbsent(t, x -> new TreeSet<>()).addAll(ps)));
        if (clients.stream().anyMatch(cl -> !cl.dead)) {
            for (String topic : List.of("a", "b")) {
                int partitions = topics.byName(topic).numPartitions();
                Set<Integer> all = new TreeSet<>();
                for (int p = 0; p < partitions; p++) {
                    all.add(p);
                }
                assertThat(owned.getOrDefault(topics.id(topic), Set.of())).as("seed %d: %s owned", seed, topic)
                        .isEqualTo(all);
            }
        }
    }

    /** A heartbeat as a KafkaConsumer sends it: epoch 0 to join, else its epoch and what it owns. */
    private void heartbeat(Client client, boolean loseAnswer) {
        ConsumerGroupHeartbeatRequestData req = new ConsumerGroupHeartbeatRequestData().setGroupId(G)
                .setMemberId(client.memberId).setRebalanceTimeoutMs(5_000)
                .setSubscribedTopicNames(client.topics);
        if (!client.joined) {
            req.setMemberEpoch(0).setTopicPartitions(new ArrayList<>());
        } else {
            List<ConsumerGroupHeartbeatRequestData.TopicPartitions> owned = new ArrayList<>();
            client.owned.forEach((t, ps) -> owned.add(new ConsumerGroupHeartbeatRequestData.TopicPartitions()
                    .setTopicId(t).setPartitions(new ArrayList<>(ps))));
            req.setMemberEpoch(client.epoch).setTopicPartitions(owned);
        }
        ConsumerGroupHeartbeatResponseData r = send(client, req);
        if (loseAnswer) {
            return;
        }
        client.nextHeartbeatMs = now + config.heartbeatIntervalMs();
        Errors error = Errors.forCode(r.errorCode());
        if (error == Errors.FENCED_MEMBER_EPOCH || error == Errors.UNKNOWN_MEMBER_ID) {
            client.owned.clear(); // the consumer gives everything up (lost partitions) and rejoins
            client.joined = false;
            return;
        }
        assertThat(error).as("heartbeat of %s", client.memberId).isEqualTo(Errors.NONE);
        client.joined = true;
        client.epoch = r.memberEpoch();
        if (r.assignment() != null) {
            // Revoke what is no longer assigned, take what is new (the consumer reconciles before its next heartbeat).
            Map<Uuid, Set<Integer>> next = new TreeMap<>();
            r.assignment().topicPartitions().forEach(tp -> next.put(tp.topicId(), new TreeSet<>(tp.partitions())));
            client.owned = next;
        }
    }

    private ConsumerGroupHeartbeatResponseData send(Client client, ConsumerGroupHeartbeatRequestData req) {
        ConsumerGroupHeartbeatResponseData r = c.consumerGroupHeartbeat(req, HEARTBEAT_V, client.memberId, "/sim",
                topics, now);
        log.append(c.takeRecords());
        return r;
    }

    private void checkInvariants(List<Client> clients, long seed, int step) {
        Map<Uuid, Map<Integer, String>> owners = new HashMap<>();
        for (Client cl : clients) {
            if (cl.dead) {
                continue;
            }
            cl.owned.forEach((t, ps) -> ps.forEach(p -> {
                String previous = owners.computeIfAbsent(t, x -> new HashMap<>()).put(p, cl.memberId);
                assertThat(previous).as("seed %d step %d: partition %s-%d owned by %s and %s", seed, step, t, p,
                        previous, cl.memberId).isNull();
            }));
        }
        ConsumerGroup group = c.consumerGroup(G);
        if (group == null) {
            return;
        }
        // The coordinator's partition epochs are exactly its members' assigned and revoking partitions.
        Map<Uuid, Map<Integer, Integer>> expected = new HashMap<>();
        for (ConsumerGroup.Member m : group.members.values()) {
            for (var partitions : List.of(m.current.assignedPartitions(), m.current.partitionsPendingRevocation())) {
                partitions.forEach((t, ps) -> ps.forEach(p -> assertThat(expected.computeIfAbsent(t,
                        x -> new HashMap<>()).put(p, m.memberEpoch())).as("seed %d step %d: %s-%d held twice", seed,
                        step, t, p).isNull()));
            }
        }
        assertThat(group.partitionEpochs).as("seed %d step %d", seed, step).isEqualTo(expected);
    }
}
