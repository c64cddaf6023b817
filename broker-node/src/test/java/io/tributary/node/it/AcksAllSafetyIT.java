package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.AckedSends.Ack;
import io.tributary.node.it.AckedSends.Failure;
import io.tributary.node.it.KafkaRequests.PartitionState;
import io.tributary.node.it.StoredLog.StoredRecord;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.NotEnoughReplicasAfterAppendException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * acks=all is a promise that an acknowledged record is on at least min.insync.replicas replicas, and so survives
 * the loss of any one of them: these tests break the ISR under a continuous idempotent acks=all load and then
 * check every acknowledgement against what the replicas store.
 *
 * <p>Three nodes, only node 1 a voter of the metadata quorum, so that killing the other two (or a leader that is not
 * node 1) leaves the controller working and the ISR changes it commits observable. Both tests produce to one
 * partition of a three-partition topic, picked for where node 1 sits in its replica list (the placement is
 * round-robin, so each topic has one partition of each shape). The ISR lag time is {@value #LAG_TIME_MS} ms, the
 * broker session timeout {@value #SESSION_TIMEOUT_MS} ms.
 *
 * <p>The rejoin test aims at a race (a high watermark advanced over the old ISR while the request adding a
 * caught-up follower is in flight, then that follower elected without those records): it stops the rejoining
 * follower when the leader's log says the request went out (see {@link #awaitRejoin}) and repeats the cycle
 * {@value #CYCLES} times, but a broker with the bug may still pass a run by luck of timing.
 */
class AcksAllSafetyIT {
    private static final int NODES = 3;
    private static final int VOTERS = 1;
    /** The only voter, and so the active controller: killed only once a test has stopped producing. */
    private static final int CONTROLLER = 1;
    private static final int PARTITIONS = 3;
    private static final long LAG_TIME_MS = 3_000;
    private static final Map<String, String> MIN_ISR_2 = Map.of("min.insync.replicas", "2");
    /** About 500 records/s of some 300 bytes through the producer. */
    private static final Duration SEND_INTERVAL = Duration.ofMillis(2);
    private static final int PADDING_BYTES = 280;
    /**
     * About 2,000 records/s of some 500 bytes (1 MB/s): the more each fetch carries, the longer a replica that just
     * rejoined may trail what the others have, which is the window the rejoin test aims its leader kill at.
     */
    private static final Duration REJOIN_SEND_INTERVAL = Duration.ofNanos(500_000);
    private static final int REJOIN_PADDING_BYTES = 480;
    /** Raw acks=all requests of 10 records every 20 ms, up to 200 waiting at once: 500 records/s. */
    private static final Duration RAW_INTERVAL = Duration.ofMillis(20);
    private static final int RAW_RECORDS_PER_REQUEST = 10;
    private static final int RAW_MAX_IN_FLIGHT = 200;
    private static final int CYCLES = 3;
    /** How long a rejoining replica may stay stopped waiting for the controller to take it into the ISR. */
    private static final Duration MAX_REJOIN_STOP = Duration.ofSeconds(1);
    /** The leader's log line when it sends AlterPartition (ReplicaManager): partition, current ISR, requested ISR. */
    private static final Pattern ISR_CHANGE_REQUEST =
            Pattern.compile("asks to change the ISR of (\\S+) from \\[([0-9, ]*)\\] to \\[([0-9, ]*)\\]");
    private static final Duration ISR_DEADLINE = Duration.ofSeconds(30);
    private static final Duration PROGRESS_DEADLINE = Duration.ofSeconds(60);
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(60);
    private static final Duration DRAIN_DEADLINE = Duration.ofSeconds(60);

    /**
     * Longer than the harness' 2 s: under this load on a 2-core machine a cold cluster missed 2 s of heartbeats and
     * fenced its brokers, moving leaders to the controller; a killed leader still gets fenced within seconds.
     */
    private static final long SESSION_TIMEOUT_MS = 6_000;

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, VOTERS, Map.of(
            "replica.lag.time.max.ms", Long.toString(LAG_TIME_MS),
            "broker.session.timeout.ms", Long.toString(SESSION_TIMEOUT_MS),
            "broker.heartbeat.interval.ms", "500"));

    @BeforeEach
    void wholeCluster() {
        cluster.restartDeadNodes();
        cluster.awaitHealthy();
    }

    @Test
    void noAcksAllProduceIsAcknowledgedOnceTheIsrFallsBelowMinIsr() {
        // Given a partition led by node 1 with three in-sync replicas and min.insync.replicas=2, an idempotent
        // acks=all producer sending to it continuously (its requests wait longer than the lag time, so that those in
        // flight when the followers die are still waiting when the ISR shrinks), and raw acks=all Produce requests
        // started at a steady rate whether or not earlier ones were answered
        String topic = "acks-all-below-min-isr";
        Clients.createTopic(cluster.bootstrap(), topic, PARTITIONS, NODES, MIN_ISR_2);
        int index = partitionWhere(topic, state -> state.leader() == CONTROLLER, "led by node " + CONTROLLER);
        TopicPartition partition = new TopicPartition(topic, index);
        List<Integer> followers = cluster.awaitFullIsr(topic, index, ISR_DEADLINE).replicas().stream()
                .filter(id -> id != CONTROLLER).toList();
        AckedSends producer = new AckedSends(Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000,
                CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG, 50,
                CommonClientConfigs.RETRY_BACKOFF_MAX_MS_CONFIG, 250)),
                partition, "producer", SEND_INTERVAL, PADDING_BYTES);
        RawAckedSends raw = new RawAckedSends(cluster.port(CONTROLLER), partition, "raw", RAW_INTERVAL,
                RAW_RECORDS_PER_REQUEST, RAW_MAX_IN_FLIGHT, PADDING_BYTES);
        long shrunkNs;
        try (producer; raw) {
            producer.start();
            raw.start();
            awaitAcked(producer, 500, "while all three replicas are in sync");

            // When both followers are SIGKILLed together while acks=all produces are in flight
            followers.forEach(cluster::kill);

            // And the load goes on until Admin shows the ISR shrunk to the leader alone, and on until sends of both
            // kinds started after that have failed (the producer retries NOT_ENOUGH_REPLICAS until its delivery
            // timeout)
            awaitIsrThroughAdmin(partition, List.of(CONTROLLER));
            shrunkNs = System.nanoTime();
            await("records of both kinds sent after the ISR shrank to [" + CONTROLLER + "] failed")
                    .atMost(PROGRESS_DEADLINE)
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> failedAfter(producer.failures(), shrunkNs) && failedAfter(raw.failures(), shrunkNs));
            producer.stop(DRAIN_DEADLINE);
            raw.stop();
        }
        cluster.kill(CONTROLLER); // the leader too, so that no replica's log moves while it is read

        // Then every acknowledged record is stored on a follower too (at least two replicas), at its offset
        Map<Integer, Map<Long, String>> stored = new TreeMap<>();
        Map<Integer, Long> endOffsets = new TreeMap<>();
        for (int id : followers) {
            byte[] log = cluster.partitionLogBytes(id, topic, index);
            stored.put(id, byOffset(StoredLog.records(log)));
            endOffsets.put(id, StoredLog.endOffset(log));
        }
        long leaderEnd = StoredLog.endOffset(cluster.partitionLogBytes(CONTROLLER, topic, index));
        List<Ack> acks = new ArrayList<>(producer.acks());
        acks.addAll(raw.acks());
        List<Failure> failures = new ArrayList<>(producer.failures());
        failures.addAll(raw.failures());
        acks.sort(Comparator.comparingLong(Ack::offset));
        List<String> problems = new ArrayList<>();
        for (Ack ack : acks) {
            boolean onAFollower = stored.values().stream().anyMatch(log -> ack.value().equals(log.get(ack.offset())));
            if (!onAFollower) {
                long sentMs = millisAfter(ack.sentAtNs(), shrunkNs);
                problems.add(shortValue(ack.value()) + " acknowledged at offset " + ack.offset() + ", on no follower;"
                        + " sent " + Math.abs(sentMs) + " ms " + (sentMs < 0 ? "before" : "after")
                        + " the ISR was seen shrunk");
            }
        }
        System.out.printf("AcksAllSafetyIT: %d sent, %d acknowledged, %d failed (%d raw requests skipped, %d in"
                + " flight at most); log end offsets: leader %d, followers %s%n", producer.sentCount()
                + raw.sentCount(), acks.size(), failures.size(), raw.skippedRequests(), RAW_MAX_IN_FLIGHT, leaderEnd,
                endOffsets);
        assertThat(acks).as("acknowledged records").isNotEmpty();
        assertThat(problems.subList(0, Math.min(problems.size(), 20)))
                .as("acknowledged records stored on the leader alone (%d of %d acknowledged; log end offsets:"
                        + " leader %d, followers %s)", problems.size(), acks.size(), leaderEnd, endOffsets)
                .isEmpty();

        // And nothing sent after the ISR was seen shrunk was acknowledged, and such sends failed with
        // NOT_ENOUGH_REPLICAS(_AFTER_APPEND) or a timeout
        assertThat(acks.stream().filter(ack -> ack.sentAtNs() > shrunkNs).map(a -> shortValue(a.value())).toList())
                .as("records sent after the ISR was seen shrunk to [%d] and yet acknowledged", CONTROLLER)
                .isEmpty();
        assertThat(failures.stream().filter(f -> f.sentAtNs() > shrunkNs).toList())
                .as("failures of records sent after the ISR shrank")
                .anySatisfy(failure -> assertThat(failure.error()).isInstanceOfAny(NotEnoughReplicasException.class,
                        NotEnoughReplicasAfterAppendException.class, TimeoutException.class));
    }

    @Test
    void everyAcknowledgedRecordSurvivesALeaderKillRightAfterAFollowerRejoins() {
        // Given a partition with replicas [L, F, 1] (neither L nor F the controller; the controller elects the first
        // live ISR member in replica order, so with L dead it picks F over node 1 whenever F is in the ISR), min ISR
        // 2, an idempotent acks=all producer sending to it continuously, and F SIGKILLed and out of the ISR
        String topic = "acks-all-rejoin-then-leader-kill";
        Clients.createTopic(cluster.bootstrap(), topic, PARTITIONS, NODES, MIN_ISR_2);
        int index = partitionWhere(topic, state -> state.replicas().get(NODES - 1) == CONTROLLER,
                "with node " + CONTROLLER + " last among its replicas");
        TopicPartition partition = new TopicPartition(topic, index);
        PartitionState initial = cluster.awaitFullIsr(topic, index, ISR_DEADLINE);
        AckedSends sends = new AckedSends(Clients.producer(cluster.bootstrap(), Map.of(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 60_000,
                CommonClientConfigs.RETRY_BACKOFF_MS_CONFIG, 50,
                CommonClientConfigs.RETRY_BACKOFF_MAX_MS_CONFIG, 250,
                CommonClientConfigs.RECONNECT_BACKOFF_MAX_MS_CONFIG, 250)),
                partition, "rejoin", REJOIN_SEND_INTERVAL, REJOIN_PADDING_BYTES);
        List<String> timings = new ArrayList<>();
        int dead = initial.replicas().get(1);
        try (sends) {
            sends.start();
            awaitAcked(sends, 1_000, "with the ISR full");
            cluster.kill(dead);
            for (int cycle = 1; cycle <= CYCLES; cycle++) {
                PartitionState before = cluster.awaitIsr(topic, index,
                        Set.of(otherThan(initial.replicas(), dead), CONTROLLER), ISR_DEADLINE);
                int leader = before.leader();
                int rejoiner = dead;
                assertThat(leader).as("cycle %d: leader of %s, which the test kills, so not the controller (a"
                        + " leader moves to it only if the other two were fenced: missed heartbeats, an overloaded"
                        + " machine?)", cycle, before)
                        .isNotEqualTo(CONTROLLER);
                awaitAcked(sends, sends.ackedCount() + 1_000, "cycle " + cycle + ", node " + rejoiner + " down");

                // When F restarts and catches up under the load, the leader asks to add it to the ISR, F stalls right
                // then (SIGSTOP, like a GC pause), and the leader is SIGKILLed the moment the controller shows F back
                // in the ISR; F carries on. F is launched without waiting for its client port: it may rejoin the
                // ISR before that opens.
                long restartNs = System.nanoTime();
                NodeLogTail leaderLog = NodeLogTail.fromNow(cluster.node(leader));
                cluster.node(rejoiner).spawn();
                Rejoin rejoin = awaitRejoin(partition, rejoiner, leaderLog);
                cluster.kill(leader);
                long killedNs = System.nanoTime();
                if (rejoin.paused()) {
                    cluster.resume(rejoiner);
                }
                cluster.node(rejoiner).awaitListening(CATCH_UP_DEADLINE);

                // Then a new leader from the ISR takes over and acknowledges records sent after the kill
                PartitionState after = cluster.awaitPartition(topic, index, "a leader other than node " + leader
                        + " with an epoch above " + before.leaderEpoch(),
                        state -> state.leader() >= 0 && state.leader() != leader
                                && state.leaderEpoch() > before.leaderEpoch(),
                        ISR_DEADLINE);
                await("cycle " + cycle + ": a record sent after node " + leader + " died acknowledged")
                        .atMost(PROGRESS_DEADLINE)
                        .pollInterval(Duration.ofMillis(100))
                        .until(() -> sends.ackedSentAfter(killedNs));
                long lastAckedBeforeKill = sends.acks().stream().filter(ack -> ack.ackedAtNs() < killedNs)
                        .mapToLong(Ack::offset).max().orElse(-1);
                timings.add("cycle " + cycle + ": node " + rejoiner + " in the ISR "
                        + millisAfter(rejoin.inIsrNs(), restartNs) + " ms after its launch"
                        + (rejoin.paused() ? ", stopped " + millisAfter(rejoin.inIsrNs(), rejoin.pausedAtNs())
                                + " ms before that" : ", never stopped")
                        + ", node " + leader + " SIGKILLed and gone " + millisAfter(killedNs, rejoin.inIsrNs())
                        + " ms later (highest offset"
                        + " acknowledged by then " + lastAckedBeforeKill + "), node " + after.leader() + " elected"
                        + " in epoch " + after.leaderEpoch());

                // And the killed leader is the node to rejoin in the next cycle
                dead = leader;
            }
            cluster.restart(dead);
            cluster.awaitFullIsr(topic, index, CATCH_UP_DEADLINE);
            sends.stop(DRAIN_DEADLINE);
        }
        System.out.printf("AcksAllSafetyIT: %d sent, %d acknowledged, %d failed; %s%n", sends.sentCount(),
                sends.ackedCount(), sends.failures().size(), timings);

        // Then the partition, read from the start to its end offset once every replica is back, holds every
        // acknowledged value at the offset it was acknowledged at
        Map<Long, String> read = readToEnd(partition);
        List<String> problems = new ArrayList<>();
        for (Ack ack : sends.acks()) {
            String there = read.get(ack.offset());
            if (!ack.value().equals(there)) {
                problems.add(shortValue(ack.value()) + " acknowledged at offset " + ack.offset() + " but "
                        + (there == null ? "missing there" : shortValue(there) + " is there"));
            }
        }
        assertThat(sends.acks()).as("acknowledged records").isNotEmpty();
        assertThat(problems.subList(0, Math.min(problems.size(), 20)))
                .as("acknowledged records lost or replaced (%d of %d acknowledged; %d records read); %s",
                        problems.size(), sends.ackedCount(), read.size(), timings)
                .isEmpty();

        // And no send failed: but for the moments of each fail-over there were two live in-sync replicas
        assertThat(sends.failures().subList(0, Math.min(sends.failures().size(), 20))).as("failed sends").isEmpty();
    }

    /** The one replica of three that is neither {@code excluded} nor the controller. */
    private static int otherThan(List<Integer> replicas, int excluded) {
        return replicas.stream().filter(id -> id != excluded && id != CONTROLLER).findFirst().orElseThrow();
    }

    /** The first partition of {@code topic} whose full-ISR state satisfies {@code condition}. */
    private static int partitionWhere(String topic, Predicate<PartitionState> condition,
            String description) {
        return IntStream.range(0, PARTITIONS)
                .filter(p -> condition.test(cluster.awaitFullIsr(topic, p, ISR_DEADLINE)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no partition of " + topic + " " + description));
    }

    private static void awaitAcked(AckedSends sends, long target, String when) {
        await(target + " records acknowledged " + when)
                .atMost(PROGRESS_DEADLINE)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> sends.ackedCount() >= target);
    }

    /** Waits until Admin's describeTopics, asked of the controller node, shows exactly {@code isr}. */
    private static void awaitIsrThroughAdmin(TopicPartition partition, List<Integer> isr) {
        try (Admin admin = Clients.admin(cluster.bootstrap(CONTROLLER))) {
            await(partition + ": ISR " + isr + " through Admin describeTopics")
                    .atMost(ISR_DEADLINE)
                    .pollInterval(Duration.ofMillis(100))
                    .ignoreExceptions() // a describe that timed out or hit a dead node: ask again
                    .until(() -> {
                        TopicDescription description = admin.describeTopics(List.of(partition.topic()))
                                .allTopicNames().get(10, TimeUnit.SECONDS).get(partition.topic());
                        return description.partitions().get(partition.partition()).isr().stream()
                                .map(Node::id).toList().equals(isr);
                    });
        }
    }

    /** How a replica rejoined: when the controller showed it in the ISR, and whether (and when) it was stopped. */
    private record Rejoin(long inIsrNs, boolean paused, long pausedAtNs) {}

    /**
     * Waits until the controller's own Metadata answer shows {@code replica} in the ISR of {@code partition}, asking
     * every 2 ms: the controller is where the change is committed, and the sooner the leader dies after that, the
     * likelier the new member still lacks records the old ISR committed. Widens that window when it can: the moment
     * the leader's log says it asked to add {@code replica}, the replica is SIGSTOPped, so that it fetches nothing
     * while the request is in flight (a leader that still advances its high watermark over the old ISR meanwhile
     * acknowledges records the replica lacks). A stopped replica the controller has not taken within
     * {@link #MAX_REJOIN_STOP} (say the request was refused) is resumed, to wait for the next request. Without that
     * log line (its wording changed) this is just the fast wait.
     */
    private static Rejoin awaitRejoin(TopicPartition partition, int replica, NodeLogTail leaderLog) {
        long[] pausedAtNs = {-1};
        await("node " + replica + " back in the ISR of " + partition + ", as the controller says")
                .atMost(CATCH_UP_DEADLINE)
                .pollInSameThread() // pauses and resumes the node from the test thread, as the harness wants
                .pollDelay(Duration.ZERO)
                .pollInterval(Duration.ofMillis(2))
                .ignoreExceptionsInstanceOf(UncheckedIOException.class)
                .until(() -> {
                    if (pausedAtNs[0] < 0 && leaderLog.newLines().stream()
                            .anyMatch(line -> asksToAdd(line, partition, replica))) {
                        cluster.pause(replica);
                        pausedAtNs[0] = System.nanoTime();
                    }
                    if (controllersIsr(partition).contains(replica)) {
                        return true;
                    }
                    if (pausedAtNs[0] >= 0 && System.nanoTime() - pausedAtNs[0] > MAX_REJOIN_STOP.toNanos()) {
                        cluster.resume(replica);
                        pausedAtNs[0] = -1;
                    }
                    return false;
                });
        return new Rejoin(System.nanoTime(), pausedAtNs[0] >= 0, pausedAtNs[0]);
    }

    /** Whether {@code line} is the leader's "asks to change the ISR" for {@code partition}, adding {@code replica}. */
    private static boolean asksToAdd(String line, TopicPartition partition, int replica) {
        Matcher matcher = ISR_CHANGE_REQUEST.matcher(line);
        return matcher.find() && matcher.group(1).equals(partition.toString())
                && !ids(matcher.group(2)).contains(replica) && ids(matcher.group(3)).contains(replica);
    }

    private static List<Integer> ids(String commaSeparated) {
        return Arrays.stream(commaSeparated.split(",")).map(String::strip).filter(id -> !id.isEmpty())
                .map(Integer::valueOf).toList();
    }

    private static List<Integer> controllersIsr(TopicPartition partition) {
        return cluster.partitionState(CONTROLLER, partition.topic(), partition.partition()).isr();
    }

    /** Every record of {@code partition} from its start to its end offset (read_uncommitted), by offset. */
    private static Map<Long, String> readToEnd(TopicPartition partition) {
        Map<Long, String> records = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrap(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted",
                ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000),
                new StringDeserializer(), new StringDeserializer())) {
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            await("reading " + partition + " up to its end offset " + end)
                    .atMost(DRAIN_DEADLINE)
                    .pollInSameThread() // KafkaConsumer belongs to one thread
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                            records.put(record.offset(), record.value());
                        }
                        return consumer.position(partition) >= end;
                    });
        }
        return records;
    }

    private static Map<Long, String> byOffset(List<StoredRecord> records) {
        Map<Long, String> byOffset = new HashMap<>();
        records.forEach(record -> byOffset.put(record.offset(), record.value()));
        return byOffset;
    }

    private static boolean failedAfter(List<Failure> failures, long sentAfterNs) {
        return failures.stream().anyMatch(failure -> failure.sentAtNs() > sentAfterNs);
    }

    private static long millisAfter(long ns, long sinceNs) {
        return TimeUnit.NANOSECONDS.toMillis(ns - sinceNs);
    }

    /** A value without its padding, for messages. */
    private static String shortValue(String value) {
        int end = value.lastIndexOf('-');
        return end > 0 ? value.substring(0, end) : value;
    }
}
