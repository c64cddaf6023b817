package io.tributary.replication;

import static org.assertj.core.api.Assertions.fail;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.ControllerDecisions;
import io.tributary.metadata.ControllerResult;
import io.tributary.metadata.LeaderElectionDecisions;
import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.ReassignmentDecisions;
import io.tributary.metadata.TopicImage;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.replication.ReplicaFetchError;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.Test;

/**
 * A seeded simulation of one partition replicated over {@value #NODES} nodes, in the style of Kafka's
 * {@code RaftEventSimulationTest}: the real replication core ({@link Partition}) on every node over an in-memory log,
 * the real controller decisions ({@link ControllerDecisions}: registration, heartbeats and session expiry, fencing,
 * election from the ISR, AlterPartition; {@link LeaderElectionDecisions}: preferred elections, which move leadership
 * between live replicas as {@code kafka-leader-election} and the automatic rebalance do), virtual time, a network that delays, drops and partitions messages
 * (follower fetches and answers, AlterPartition and its answers, heartbeats, metadata propagation), crashes (kill -9,
 * and power loss that loses unflushed data), random acks=all / acks=1 produce, and random DeleteRecords on the leader
 * (its log start offset moves; followers take it from the fetch answers).
 *
 * <p>After every event: no acknowledged acks=all record is ever missing from the current leader's log or holds
 * another value; replicas agree below their high watermarks (a committed offset never changes value); the high
 * watermark never goes back within a leader epoch; at most one leader per epoch; every replica's log start offset is
 * at most its log end offset, and a DeleteRecords answers a low watermark at or past its offset. Records below a
 * replica's log start offset are deleted, so these checks start there. At the end the faults heal, an acks=all
 * produce must succeed (no wedge) and so must a DeleteRecords up to the high watermark.
 *
 * <p>A failing seed is printed; {@code -Dtributary.seed=N} replays it alone; {@code -Dtributary.sim.seeds=N} runs
 * N seeds (CI runs {@value #CI_SEEDS}; a long run uses thousands).
 *
 * <p>Model limits: one partition, the controller itself never fails (Ratis is not simulated). A power loss hits a
 * node only while every node is up, whole, connected and in the ISR; the node restarts only once its old incarnation was fenced, and until
 * it is back in the ISR every fault hits that node only. Kafka, like Tributary, acknowledges before fsync: a replica
 * that lost unflushed data and then became the last ISR member (or lost it together with another replica) would
 * lose acknowledged records, which is outside what acks=all promises (KIP-966's unclean-shutdown rule would be
 * needed). SIGKILL ({@code kill -9}, the page cache survives) is not limited.
 */
class ReplicationSimulationTest {

    static final int NODES = 3;
    static final int REASSIGNMENT_NODES = 4;
    /** The topic's replication factor at creation (reassignments may change it). */
    private static final int REPLICATION_FACTOR = 3;
    static final int CI_SEEDS = 200;
    private static final int MIN_ISR = 2;
    private static final long DURATION_MS = 20_000;
    private static final long SESSION_TIMEOUT_MS = 1_000;
    private static final long HEARTBEAT_MS = 150;
    private static final long LAG_TIME_MS = 600;
    private static final long REQUEST_TIMEOUT_MS = 1_500;
    private static final long CONTROLLER_TIMEOUT_MS = 400;
    private static final UUID TOPIC_ID = new UUID(7, 7);
    private static final PartitionId TP = new PartitionId("t", 0);

    @Test
    void noAcknowledgedWriteIsLostUnderRandomFaults() {
        runSeeds(0x5eed_0000L, seed -> new World(seed, NODES, false));
    }

    /**
     * The same on {@value #REASSIGNMENT_NODES} nodes, with partition reassignments among the faults (KIP-455 through
     * the real {@link ReassignmentDecisions}): moves to random targets (the leader removed or not, sometimes another
     * replication factor) and cancellations; removed replicas stop and delete their logs, added ones start empty and
     * catch up. The invariants are the same, checked after every event.
     */
    @Test
    void noAcknowledgedWriteIsLostUnderReassignmentsAndFaults() {
        runSeeds(0x5eed_8000L, seed -> new World(seed, REASSIGNMENT_NODES, true));
    }

    private static void runSeeds(long base, java.util.function.LongFunction<World> world) {
        String fixed = System.getProperty("tributary.seed");
        int seeds = Integer.getInteger("tributary.sim.seeds", CI_SEEDS);
        if (fixed != null) {
            world.apply(Long.parseLong(fixed)).run();
            return;
        }
        int preferredElections = 0;
        long completed = 0;
        long leadersRemoved = 0;
        boolean reassigning = false;
        for (int i = 0; i < seeds; i++) {
            long seed = base + i;
            try {
                World w = world.apply(seed);
                w.run();
                preferredElections += w.preferredElections;
                completed += w.reassignmentsCompleted;
                leadersRemoved += w.leadersRemoved;
                reassigning |= w.reassignments;
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("simulation failed with seed " + seed + " (replay: -Dtributary.seed="
                        + seed + "): " + e.getMessage(), e);
            }
        }
        if (preferredElections < seeds) {
            fail("only " + preferredElections + " preferred elections in " + seeds + " runs");
        }
        if (reassigning) {
            // The moves must really happen (not all refused or cancelled), the leader's removal among them.
            System.out.println("reassignment simulation: " + seeds + " seeds, " + completed + " moves completed, "
                    + leadersRemoved + " of them removing the leader");
            if (completed < seeds || leadersRemoved == 0) {
                throw new AssertionError("too few reassignments completed: " + completed + " (" + leadersRemoved
                        + " removing the leader) over " + seeds + " seeds");
            }
        }
    }

    /** One simulated cluster and its history. */
    static final class World {
        final long seed;
        final Random random;
        final PriorityQueue<Event> queue = new PriorityQueue<>();
        long nowMs;
        long sequence;
        final List<String> trace = new ArrayList<>();
        /** Faults and role changes only, the last few hundred: what a failure report shows first. */
        final List<String> notes = new ArrayList<>();

        // Controller
        MetadataImage controllerImage = MetadataImage.EMPTY;
        long metadataOffset;
        final Map<Integer, Long> lastHeartbeatMs = new HashMap<>();

        // Network: cut links (ordered pairs, -1 = controller)
        final Set<Long> cut = new HashSet<>();

        final Map<Integer, Node> nodes = new TreeMap<>();

        // History
        final Map<Long, String> acked = new HashMap<>();
        /** A broken rule found where it cannot be thrown (a completion callback); null if none. */
        String violation;
        final Map<Long, String> newAcks = new HashMap<>();
        final Map<Long, String> committed = new HashMap<>();
        final Map<Integer, Integer> leaderOfEpoch = new HashMap<>();
        long values;
        /** Preferred elections committed: the runs must move leadership between live replicas. */
        int preferredElections;
        long acksAll;

        final int nodeCount;
        final boolean reassignments;

        World(long seed, int nodeCount, boolean reassignments) {
            this.seed = seed;
            this.random = new Random(seed);
            this.nodeCount = nodeCount;
            this.reassignments = reassignments;
        }

        record Event(long atMs, long seq, String what, Runnable action) implements Comparable<Event> {
            @Override
            public int compareTo(Event o) {
                return atMs != o.atMs ? Long.compare(atMs, o.atMs) : Long.compare(seq, o.seq);
            }
        }

        void note(String what) {
            if (notes.size() > 300) {
                notes.subList(0, 100).clear();
            }
            notes.add(nowMs + " " + what);
        }

        String history() {
            return "\nfaults and roles:\n" + String.join("\n", notes.subList(Math.max(0, notes.size() - 60),
                    notes.size())) + "\nlast events:\n" + String.join("\n", trace.subList(Math.max(0,
                    trace.size() - 40), trace.size()));
        }

        void at(long delayMs, String what, Runnable action) {
            queue.add(new Event(nowMs + Math.max(0, delayMs), sequence++, what, action));
        }

        /** Delivers a message from {@code from} to {@code to} (-1: the controller) unless dropped or cut. */
        void send(int from, int to, String what, Runnable onDelivery) {
            if (isCut(from, to) || random.nextInt(100) < 2) {
                return;
            }
            at(1 + random.nextInt(random.nextInt(10) == 0 ? 200 : 20), what, () -> {
                if (!isCut(from, to)) {
                    onDelivery.run();
                }
            });
        }

        boolean isCut(int a, int b) {
            return cut.contains(link(a, b)) || cut.contains(link(b, a));
        }

        static long link(int a, int b) {
            return ((long) a << 32) | (b & 0xffffffffL);
        }

        void run() {
            for (int id = 1; id <= nodeCount; id++) {
                nodes.put(id, new Node(this, id));
            }
            for (Node n : nodes.values()) {
                n.register();
            }
            for (Node n : nodes.values()) {
                controllerHeartbeat(n.id, n.brokerEpoch);
            }
            createTopic();
            at(0, "controller tick", this::controllerTick);
            for (Node n : nodes.values()) {
                n.start();
            }
            at(50, "produce", this::produceLoop);
            at(500 + random.nextInt(1_000), "fault", this::faultLoop);
            if (reassignments) {
                at(300 + random.nextInt(1_000), "reassign", this::reassignLoop);
            }
            while (!queue.isEmpty() && queue.peek().atMs <= DURATION_MS) {
                step();
            }
            heal();
            long end = nowMs + 8_000;
            while (!queue.isEmpty() && queue.peek().atMs <= end) {
                step();
            }
            checkAcksOnLeader(true);
            finalProduceSucceeds();
            finalDeleteRecordsSucceeds();
        }

        void step() {
            Event e = queue.poll();
            nowMs = e.atMs;
            if (trace.size() > 400) {
                trace.subList(0, 200).clear();
            }
            trace.add(nowMs + " " + e.what);
            try {
                e.action.run();
                checkInvariants();
            } catch (AssertionError | RuntimeException ex) {
                throw new AssertionError(ex.getMessage() + history(), ex);
            }
        }

        // ------------------------------------------------------------ controller

        void commit(ControllerResult<?> result) {
            for (MetadataRecord record : result.records()) {
                PartitionImage before = controllerPartition();
                controllerImage = controllerImage.apply(record, ++metadataOffset);
                countReassignment(before, controllerPartition());
            }
            if (!result.records().isEmpty()) {
                publish();
            }
        }

        void publish() {
            MetadataImage image = controllerImage;
            for (Node n : nodes.values()) {
                send(-1, n.id, "metadata " + image.offset() + " to " + n.id, () -> n.onImage(image));
            }
        }

        void createTopic() {
            commit(ControllerDecisions.createTopic(controllerImage, "t", 1, REPLICATION_FACTOR,
                    Map.of("min.insync.replicas", String.valueOf(MIN_ISR)), TOPIC_ID));
        }

        void controllerHeartbeat(int brokerId, long brokerEpoch) {
            BrokerRegistration b = controllerImage.brokers().get(brokerId);
            if (b == null || b.brokerEpoch() != brokerEpoch) {
                return;
            }
            lastHeartbeatMs.put(brokerId, nowMs);
            if (b.fenced()) {
                commit(ControllerDecisions.unfenceBrokerAndElect(controllerImage, brokerId));
            }
        }

        void controllerTick() {
            for (BrokerRegistration b : List.copyOf(controllerImage.brokers().values())) {
                if (!b.fenced() && nowMs - lastHeartbeatMs.getOrDefault(b.brokerId(), 0L) > SESSION_TIMEOUT_MS) {
                    commit(ControllerDecisions.fenceBroker(controllerImage, b.brokerId()));
                }
            }
            // Now and then a preferred election (an operator's, or the automatic rebalance's) takes leadership from a
            // live leader back to the first replica.
            if (random.nextInt(15) == 0) {
                ControllerResult<?> preferred = LeaderElectionDecisions.electLeaders(controllerImage,
                        LeaderElectionDecisions.ElectionType.PREFERRED, null);
                if (!preferred.records().isEmpty()) {
                    note("preferred election");
                    preferredElections++;
                    commit(preferred);
                }
            }
            // Re-publish now and then so that a node whose metadata was dropped catches up.
            if (random.nextInt(4) == 0) {
                publish();
            }
            at(100, "controller tick", this::controllerTick);
        }

        IsrChangeResult controllerAlterPartition(int brokerId, IsrProposal proposal) {
            ControllerResult<PartitionImage> result = ControllerDecisions.alterPartition(controllerImage, TOPIC_ID,
                    0, brokerId, proposal.leaderEpoch(), proposal.partitionEpoch(), proposal.isr());
            if (!result.failed()) {
                commit(result);
            }
            return IsrChangeResult.of(result.error());
        }

        PartitionImage controllerPartition() {
            TopicImage topic = controllerImage.topic(TOPIC_ID);
            return topic == null ? null : topic.partition(0);
        }

        // ------------------------------------------------------------ clients

        void produceLoop() {
            List<Node> leaders = nodes.values().stream().filter(n -> n.alive && n.partition != null
                    && n.partition.isLeader()).toList();
            if (!leaders.isEmpty()) {
                Node leader = leaders.get(random.nextInt(leaders.size()));
                produce(leader, random.nextInt(4) == 0 ? 1 : -1);
                if (random.nextInt(40) == 0) {
                    deleteRecords(leader, random.nextInt(4) == 0 ? Partition.DELETE_UP_TO_HIGH_WATERMARK
                            : leader.log.logStartOffset() + random.nextInt(10));
                }
            }
            at(1 + random.nextInt(15), "produce", this::produceLoop);
        }

        /** Returns the future of an acks=all produce (completed when acked, failed otherwise), else null. */
        CompletableFuture<Void> produce(Node leader, int acks) {
            String value = "v" + (values++);
            ByteBuffer batch = MemoryRecords.withRecords(Compression.NONE, new SimpleRecord(value.getBytes()))
                    .buffer();
            AppendOutcome outcome;
            try {
                outcome = leader.partition.appendAsLeader(batch, -1, acks);
            } catch (ReplicaException e) {
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (acks != -1) {
                return null;
            }
            long offset = outcome.result().lastOffset();
            CompletableFuture<Void> committed = outcome.committed();
            CompletableFuture<Void> result = new CompletableFuture<>();
            committed.whenComplete((v, error) -> {
                if (error == null) {
                    String previous = acked.put(offset, value);
                    if (previous != null) {
                        throw new AssertionError("offset " + offset + " acknowledged twice: " + previous + ", "
                                + value);
                    }
                    newAcks.put(offset, value);
                    acksAll++;
                    result.complete(null);
                } else {
                    result.completeExceptionally(error);
                }
            });
            at(REQUEST_TIMEOUT_MS, "produce timeout", () -> committed.completeExceptionally(new TimeoutException()));
            return result;
        }

        /** A DeleteRecords on {@code leader}; the future of its low watermark, null if refused at once. */
        CompletableFuture<Long> deleteRecords(Node leader, long offset) {
            note("delete records before " + offset + " on " + leader.id + " (hw " + leader.partition.highWatermark()
                    + ")");
            CompletableFuture<Long> low;
            try {
                low = leader.partition.deleteRecords(offset);
            } catch (ReplicaException e) {
                return null; // above the high watermark, or no longer leading
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            long target = offset == Partition.DELETE_UP_TO_HIGH_WATERMARK ? -1 : offset;
            low.whenComplete((l, error) -> {
                if (error == null && l < target && violation == null) {
                    violation = "DeleteRecords to " + target + " answered low watermark " + l;
                }
            });
            at(REQUEST_TIMEOUT_MS, "delete records timeout", () -> low.completeExceptionally(new TimeoutException()));
            return low;
        }

        // ------------------------------------------------------------ reassignments

        /** Moves completed (the replicas changed to a target), and those that removed the leader. */
        long reassignmentsCompleted;
        long leadersRemoved;

        void countReassignment(PartitionImage before, PartitionImage after) {
            if (before != null && after != null && before.isReassigning() && !after.isReassigning()
                    && after.replicas().equals(before.targetReplicas())) {
                reassignmentsCompleted++;
                if (before.hasLeader() && !after.replicas().contains(before.leader())) {
                    leadersRemoved++;
                }
            }
        }

        /**
         * Now and then a reassignment decided by the controller: to a random target (mostly of 3 replicas, in random
         * order, so the leader is sometimes removed and the preferred leader changes; sometimes 2 or 4 replicas), or a
         * cancellation of the one in progress. Refusals (nothing to cancel, an unclean revert) change nothing.
         */
        void reassignLoop() {
            PartitionImage current = controllerPartition();
            List<Integer> target = null;
            if (current != null && (random.nextInt(4) != 0 || !current.isReassigning())) {
                List<Integer> all = new ArrayList<>(nodes.keySet());
                java.util.Collections.shuffle(all, random);
                int size = random.nextInt(8) == 0 ? 2 + random.nextInt(3) : REPLICATION_FACTOR;
                target = List.copyOf(all.subList(0, Math.min(size, all.size())));
            }
            ControllerResult<List<ReassignmentDecisions.Result>> result = ReassignmentDecisions.alter(
                    controllerImage, List.of(new ReassignmentDecisions.Target("t", 0, target)));
            note((target == null ? "cancel reassignment" : "reassign to " + target) + ": "
                    + result.response().get(0).error() + " " + (current == null ? "" : current.replicas()));
            commit(result);
            at(500 + random.nextInt(3_000), "reassign", this::reassignLoop);
        }

        // ------------------------------------------------------------ faults

        void faultLoop() {
            int target = 1 + random.nextInt(nodeCount);
            // While a node misses data it had acknowledged, faults hit only that node (see the class comment).
            target = nodes.values().stream().filter(o -> o.lostData).mapToInt(o -> o.id).findFirst().orElse(target);
            Node n = nodes.get(target);
            switch (random.nextInt(6)) {
                case 0 -> {
                    if (n.alive) {
                        n.crash(false);
                        at(200 + random.nextInt(3_000), "restart " + target, n::restart);
                    }
                }
                case 1 -> {
                    PartitionImage current = controllerPartition();
                    boolean othersWhole = nodes.values().stream().noneMatch(o -> o.lostData || !o.alive)
                            && cut.isEmpty() && current != null && !current.isReassigning()
                            && current.isr().containsAll(current.replicas());
                    if (n.alive && othersWhole) {
                        n.crash(true);
                        at(200 + random.nextInt(3_000), "restart " + target, n::restart);
                    }
                }
                case 2 -> {
                    // Isolate a node from everyone, controller included, for a while.
                    List<Long> links = new ArrayList<>();
                    for (int other = -1; other <= nodeCount; other++) {
                        if (other != 0 && other != target) {
                            links.add(link(target, other));
                        }
                    }
                    cutFor(links, "isolate " + target);
                }
                case 3 -> {
                    // Cut one node from the others but not from the controller (it keeps heartbeating).
                    List<Long> links = new ArrayList<>();
                    for (int other = 1; other <= nodeCount; other++) {
                        if (other != target) {
                            links.add(link(target, other));
                        }
                    }
                    cutFor(links, "cut replication of " + target);
                }
                case 4 -> {
                    int other = 1 + random.nextInt(nodeCount);
                    if (other != target) {
                        cutFor(List.of(link(target, other)), "cut " + target + "-" + other);
                    }
                }
                default -> {
                    cutFor(List.of(link(target, -1)), "cut " + target + " from the controller");
                }
            }
            at(300 + random.nextInt(2_500), "fault", this::faultLoop);
        }

        void cutFor(List<Long> links, String what) {
            note(what);
            cut.addAll(links);
            at(200 + random.nextInt(3_000), "heal " + what, () -> links.forEach(cut::remove));
        }

        void heal() {
            cut.clear();
            for (Node n : nodes.values()) {
                if (!n.alive) {
                    at(random.nextInt(100), "final restart " + n.id, n::restart);
                }
            }
            queue.removeIf(e -> e.what.equals("fault") || e.what.startsWith("restart") || e.what.equals("reassign"));
        }

        // ------------------------------------------------------------ invariants

        void checkInvariants() {
            if (violation != null) {
                throw new AssertionError(violation); // found in a completion, reported here
            }
            PartitionImage current = controllerPartition();
            for (Node n : nodes.values()) {
                if (n.lostData && n.alive && current != null && current.isr().contains(n.id)) {
                    n.lostData = false; // caught up to the high watermark and back in the ISR: whole again
                }
                if (n.partition == null) {
                    continue;
                }
                Partition p = n.partition;
                if (n.log.logStartOffset() > n.log.logEndOffset()) {
                    throw new AssertionError("node " + n.id + " log start " + n.log.logStartOffset()
                            + " is past its log end " + n.log.logEndOffset());
                }
                // At most one leader per epoch.
                if (n.alive && p.isLeader()) {
                    Integer other = leaderOfEpoch.putIfAbsent(p.leaderEpoch(), n.id);
                    if (other != null && other != n.id) {
                        throw new AssertionError("two leaders in epoch " + p.leaderEpoch() + ": " + other + " and "
                                + n.id);
                    }
                    // The high watermark never goes back within a leader epoch.
                    if (n.leaderHwEpoch == p.leaderEpoch() && p.highWatermark() < n.leaderHw) {
                        throw new AssertionError("node " + n.id + " high watermark went back from " + n.leaderHw
                                + " to " + p.highWatermark() + " in epoch " + p.leaderEpoch());
                    }
                    n.leaderHwEpoch = p.leaderEpoch();
                    n.leaderHw = p.highWatermark();
                }
                // Replicas agree below their high watermarks: a committed offset never changes value.
                long truncated = n.log.takeLowestTruncation();
                n.checkedUpTo = Math.min(n.checkedUpTo, truncated);
                long hw = Math.min(p.highWatermark(), n.log.logEndOffset());
                for (long o = Math.max(n.checkedUpTo, n.log.logStartOffset()); o < hw; o++) {
                    String value = n.log.valueAt(o);
                    String before = committed.putIfAbsent(o, value);
                    if (before != null && !before.equals(value)) {
                        throw new AssertionError("node " + n.id + " holds " + value + " at committed offset " + o
                                + " where " + before + " was committed");
                    }
                }
                n.checkedUpTo = Math.max(n.checkedUpTo, hw);
            }
            // Each new acknowledgement was committed (a leader's high watermark passed it) with its value.
            for (Map.Entry<Long, String> ack : newAcks.entrySet()) {
                String value = committed.get(ack.getKey());
                if (!ack.getValue().equals(value)) {
                    throw new AssertionError("acknowledged " + ack.getValue() + " at " + ack.getKey()
                            + " but " + (value == null ? "nothing" : value) + " was committed there");
                }
            }
            newAcks.clear();
            checkAcksOnLeader(false);
        }

        /**
         * Every acknowledged acks=all record is in the log of the current leader (the node the controller elected,
         * once it has taken the leadership) at its offset.
         */
        void checkAcksOnLeader(boolean always) {
            PartitionImage current = controllerPartition();
            if (current == null || !current.hasLeader()) {
                return;
            }
            Node leader = nodes.get(current.leader());
            if (!leader.alive || leader.partition == null || !leader.partition.isLeader()
                    || leader.partition.leaderEpoch() != current.leaderEpoch()) {
                return;
            }
            if (!always && leader.ackCheckedEpoch == current.leaderEpoch()) {
                return; // checked all when it took over; later acks are its own, checked against the commits
            }
            for (Map.Entry<Long, String> ack : acked.entrySet()) {
                if (ack.getKey() < leader.log.logStartOffset()) {
                    continue; // deleted by DeleteRecords
                }
                String value = leader.log.valueAt(ack.getKey());
                if (!ack.getValue().equals(value)) {
                    throw new AssertionError("acknowledged " + ack.getValue() + " at offset " + ack.getKey()
                            + " is " + (value == null ? "missing" : "replaced by " + value) + " on leader "
                            + leader.id + " in epoch " + current.leaderEpoch() + " (log end "
                            + leader.log.logEndOffset() + ")");
                }
            }
            leader.ackCheckedEpoch = current.leaderEpoch();
        }

        void finalProduceSucceeds() {
            long deadline = nowMs + 10_000;
            CompletableFuture<Void> last = null;
            while (nowMs < deadline && !queue.isEmpty()) {
                if (last != null && last.isDone() && !last.isCompletedExceptionally()) {
                    checkAcksOnLeader(true);
                    return;
                }
                if (last == null || last.isCompletedExceptionally()) {
                    PartitionImage current = controllerPartition();
                    Node leader = current != null && current.hasLeader() ? nodes.get(current.leader()) : null;
                    last = leader != null && leader.alive && leader.partition != null && leader.partition.isLeader()
                            ? produce(leader, -1) : null;
                }
                step();
            }
            throw new AssertionError("no acks=all produce succeeded within 10 s after the faults healed: "
                    + controllerPartition() + "; nodes " + nodes.values() + history());
        }

        /** After healing: a DeleteRecords up to the high watermark completes (every ISR member moves its start). */
        void finalDeleteRecordsSucceeds() {
            long deadline = nowMs + 10_000;
            CompletableFuture<Long> last = null;
            while (nowMs < deadline && !queue.isEmpty()) {
                if (last != null && last.isDone() && !last.isCompletedExceptionally()) {
                    return;
                }
                if (last == null || last.isCompletedExceptionally()) {
                    PartitionImage current = controllerPartition();
                    Node leader = current != null && current.hasLeader() ? nodes.get(current.leader()) : null;
                    last = leader != null && leader.alive && leader.partition != null && leader.partition.isLeader()
                            ? deleteRecords(leader, Partition.DELETE_UP_TO_HIGH_WATERMARK) : null;
                }
                step();
            }
            throw new AssertionError("no DeleteRecords succeeded within 10 s after the faults healed: "
                    + controllerPartition() + "; nodes " + nodes.values() + history());
        }
    }

    /** One broker: its metadata view, its replica of the partition and its follower fetch loop. */
    static final class Node {
        final World world;
        final int id;
        /** Replaced by an empty log when the replica is removed (its log deleted, as StopReplica with delete). */
        InMemoryReplicaLog log = new InMemoryReplicaLog();
        /** Bumped when the replica is removed: fetch and ISR answers for the removed replica are ignored. */
        int replicaGeneration;
        boolean alive = true;
        boolean lostData;
        int incarnation;
        long brokerEpoch = -1;
        MetadataImage image = MetadataImage.EMPTY;
        Partition partition;
        /** Bumped on crash: events of an earlier process are ignored. */
        int generation;
        boolean fetchInFlight;
        long fetches;
        long checkedUpTo;
        int leaderHwEpoch = -1;
        long leaderHw;
        int ackCheckedEpoch = -1;

        Node(World world, int id) {
            this.world = world;
            this.id = id;
        }

        @Override
        public String toString() {
            return "node" + id + (alive ? "" : "(down)") + " leo=" + log.logEndOffset() + " hw="
                    + (partition == null ? -1 : partition.highWatermark()) + " role="
                    + (partition == null ? "-" : partition.isLeader() ? "leader" : "follower")
                    + (partition == null ? "" : " epoch=" + partition.leaderEpoch());
        }

        /** Registers a new incarnation directly with the controller (the registration RPC is not simulated). */
        void register() {
            incarnation++;
            world.commit(ControllerDecisions.registerBrokerIncarnation(world.controllerImage, id,
                    "node" + id + "-" + incarnation, List.of(), ""));
            brokerEpoch = world.controllerImage.brokers().get(id).brokerEpoch();
        }

        void start() {
            int gen = generation;
            world.at(0, "heartbeat " + id, () -> heartbeatLoop(gen));
            world.at(world.random.nextInt(50), "isr check " + id, () -> isrCheckLoop(gen));
            world.at(world.random.nextInt(200), "flush " + id, () -> flushLoop(gen));
            onImage(world.controllerImage);
        }

        void heartbeatLoop(int gen) {
            if (gen != generation) {
                return;
            }
            long epoch = brokerEpoch;
            world.send(id, -1, "heartbeat from " + id, () -> world.controllerHeartbeat(id, epoch));
            world.at(HEARTBEAT_MS, "heartbeat " + id, () -> heartbeatLoop(gen));
        }

        void flushLoop(int gen) {
            if (gen != generation) {
                return;
            }
            log.flush();
            world.at(50 + world.random.nextInt(400), "flush " + id, () -> flushLoop(gen));
        }

        void isrCheckLoop(int gen) {
            if (gen != generation) {
                return;
            }
            Partition p = partition;
            if (p != null) {
                p.isrChange(image.brokers(), world.nowMs, LAG_TIME_MS).ifPresent(proposal -> {
                    boolean[] answered = {false};
                    world.send(id, -1, "alter partition from " + id + " " + proposal.isr(), () -> {
                        IsrChangeResult result = world.controllerAlterPartition(id, proposal);
                        world.send(-1, id, "alter partition answer " + result + " to " + id, () -> {
                            if (gen == generation && !answered[0]) {
                                answered[0] = true;
                                p.onIsrChangeResult(proposal, result, world.nowMs, 200).run();
                            }
                        });
                    });
                    world.at(CONTROLLER_TIMEOUT_MS, "alter partition timeout " + id, () -> {
                        if (gen == generation && !answered[0]) {
                            answered[0] = true;
                            p.onIsrChangeResult(proposal, IsrChangeResult.UNKNOWN, world.nowMs, 200).run();
                        }
                    });
                });
            }
            world.at(50, "isr check " + id, () -> isrCheckLoop(gen));
        }

        /** As ReplicaManager.onImage: open the replica, then lead or follow as the image says. */
        void onImage(MetadataImage next) {
            // A node's images only move forward, as a real node's do (BrokerLifecycle and the publisher drop older
            // ones): a late, older image must not bring back a replica this node has already removed.
            if (!alive || next.offset() <= image.offset()) {
                return;
            }
            image = next;
            TopicImage topic = next.topic(TOPIC_ID);
            if (topic == null) {
                return;
            }
            PartitionImage p = topic.partition(0);
            if (!p.replicas().contains(id)) {
                removeReplica(next);
                return;
            }
            if (partition == null) {
                partition = new Partition(TP, TOPIC_ID, log, new PartitionImage(0, p.replicas(), p.isr(),
                        PartitionImage.NO_LEADER, -1, p.partitionEpoch()), id, MIN_ISR);
            }
            if (!p.equals(partition.image())) {
                world.note("node " + id + " image " + next.offset() + ": leader " + p.leader() + " epoch "
                        + p.leaderEpoch() + " isr " + p.isr() + " (log end " + log.logEndOffset() + ", hw "
                        + partition.highWatermark() + ")");
            }
            if (p.leader() == id) {
                partition.becomeLeader(p, world.nowMs).run();
            } else {
                partition.becomeFollower(p).run();
                maybeFetch();
            }
        }

        /**
         * As ReplicaManager.removePartition for a topic that still exists but no longer names this node: the replica
         * stops (its waiters fail) and its log is deleted; if it is added again it starts from an empty log.
         */
        void removeReplica(MetadataImage next) {
            if (partition == null && log.logEndOffset() == 0 && log.logStartOffset() == 0) {
                return; // nothing hosted (a restarted node's old log is a stray one, deleted as well)
            }
            world.note("node " + id + " image " + next.offset() + ": no longer a replica, deletes its log (log end "
                    + log.logEndOffset() + ")");
            if (partition != null) {
                partition.becomeFollower(new PartitionImage(0, partition.image().replicas(), partition.image().isr(),
                        PartitionImage.NO_LEADER, partition.leaderEpoch(), partition.image().partitionEpoch())).run();
            }
            partition = null;
            lostData = false; // it holds nothing now
            log = new InMemoryReplicaLog();
            replicaGeneration++;
            fetchInFlight = false;
            checkedUpTo = 0;
            leaderHwEpoch = -1;
            ackCheckedEpoch = -1;
        }

        void maybeFetch() {
            if (!alive || fetchInFlight || partition == null || partition.isLeader()
                    || !partition.image().hasLeader()) {
                return;
            }
            int leaderId = partition.image().leader();
            int leaderEpoch = partition.image().leaderEpoch();
            long fetchOffset = log.logEndOffset();
            FollowerFetch fetch = new FollowerFetch(id, brokerEpoch, fetchOffset, log.latestEpoch().orElse(-1),
                    leaderEpoch, log.logStartOffset());
            fetchInFlight = true;
            long fetchId = ++fetches;
            int gen = generation;
            int replicaGen = replicaGeneration;
            Node leader = world.nodes.get(leaderId);
            world.send(id, leaderId, "fetch " + id + "->" + leaderId + " @" + fetchOffset, () ->
                    leader.onFetch(this, gen, fetchId, fetch, replicaGen));
            // The stream's answer may never come (dropped, cut, leader down): give up after a timeout.
            world.at(CONTROLLER_TIMEOUT_MS, "fetch timeout " + id, () -> {
                if (gen == generation && fetchInFlight && fetches == fetchId) {
                    fetchInFlight = false;
                    maybeFetch();
                }
            });
        }

        /** Leader side of a fetch; answers through the network. */
        void onFetch(Node follower, int followerGen, long fetchId, FollowerFetch fetch, int followerReplicaGen) {
            if (!alive || partition == null) {
                return;
            }
            Completions done = new Completions();
            FetchAnswer answer;
            try {
                answer = partition.onFollowerFetch(fetch, image.brokers(), 4_000, true, world.nowMs, done);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            done.run();
            int leaderEpoch = fetch.currentLeaderEpoch();
            boolean empty = answer.error() == ReplicaFetchError.NONE && answer.divergingEpoch() == null
                    && !answer.records().hasRemaining();
            // A fetch with nothing to return waits on the leader (long poll) before its answer goes back.
            long holdMs = empty ? 5 + world.random.nextInt(40) : 0;
            world.at(holdMs, "hold fetch", () -> world.send(id, follower.id, "fetch answer " + id + "->"
                    + follower.id, () -> follower.onFetchAnswer(followerGen, fetchId, id, leaderEpoch,
                    fetch.fetchOffset(), answer, followerReplicaGen)));
        }

        void onFetchAnswer(int gen, long fetchId, int leaderId, int leaderEpoch, long fetchOffset,
                FetchAnswer answer, int replicaGen) {
            if (gen != generation || !alive || replicaGen != replicaGeneration || partition == null) {
                return;
            }
            Partition.Applied applied;
            try {
                applied = partition.applyFetch(leaderId, leaderEpoch, fetchOffset, answer);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (fetchId != fetches) {
                return; // the answer of a fetch given up on: applied if still valid, the loop is elsewhere
            }
            if (applied == Partition.Applied.ERROR) {
                world.at(100, "fetch backoff " + id, () -> {
                    if (gen == generation && fetches == fetchId) {
                        fetchInFlight = false;
                        maybeFetch();
                    }
                });
                return;
            }
            fetchInFlight = false;
            maybeFetch();
        }

        void crash(boolean powerLoss) {
            world.note("crash " + id + (powerLoss ? " (power loss, log end " + log.logEndOffset() + " -> " : ""));
            alive = false;
            generation++;
            fetchInFlight = false;
            if (powerLoss) {
                log.crash();
                lostData = true;
                world.note("  node " + id + " restarts with log end " + log.logEndOffset());
            }
            if (partition != null) {
                // The process is gone: its waiters die with it (their clients see a broken connection).
                partition.becomeFollower(new PartitionImage(0, partition.image().replicas(),
                        partition.image().isr(), PartitionImage.NO_LEADER, partition.leaderEpoch(),
                        partition.image().partitionEpoch())).run();
            }
            partition = null;
            image = MetadataImage.EMPTY;
            leaderHwEpoch = -1;
        }

        void restart() {
            if (alive) {
                return;
            }
            BrokerRegistration old = world.controllerImage.brokers().get(id);
            if (lostData && old != null && !old.fenced()) {
                // A node that lost acknowledged data comes back only as a fenced, new incarnation.
                world.at(200, "restart " + id, this::restart);
                return;
            }
            alive = true;
            world.note("restart " + id + " log end " + log.logEndOffset());
            checkedUpTo = 0;
            register();
            start();
        }

    }
}
