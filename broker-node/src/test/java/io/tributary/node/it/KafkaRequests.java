package io.tributary.node.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.BaseRecords;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.Record;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.RequestUtils;
import org.apache.kafka.common.requests.ResponseHeader;
import org.awaitility.Awaitility;

/**
 * Well-formed Kafka requests sent to one node's port, encoded and decoded with kafka-clients' own message classes.
 *
 * <p>Cluster tests need what kafka-clients hides: the view of one particular node (a client asks whichever node it
 * likes), leader epochs (Metadata v12) and fenced brokers (DescribeCluster v2). Each call opens a connection, sends
 * one request and reads one response.
 */
final class KafkaRequests {
    static final short METADATA_VERSION = 12;
    static final short DESCRIBE_CLUSTER_VERSION = 2;
    /** The last Produce and Fetch versions that name topics (later ones use topic ids). */
    static final short PRODUCE_VERSION = 12;
    static final short FETCH_VERSION = 12;
    /** The last ListOffsets version the node serves; has leader epochs (v4+) and names topics. */
    static final short LIST_OFFSETS_VERSION = 6;
    /** ListOffsets' timestamp for the latest offset: the high watermark, what consumers may read up to. */
    static final long LATEST_TIMESTAMP = -1L;
    static final long EARLIEST_TIMESTAMP = -2L;
    /** Produce's acks for "every in-sync replica". */
    static final short ACKS_ALL = -1;
    private static final Duration RESPONSE_DEADLINE = Duration.ofSeconds(10);
    private static final AtomicInteger CORRELATION_IDS = new AtomicInteger();

    private KafkaRequests() {}

    /** One partition as a node's Metadata response describes it. */
    record PartitionState(int leader, int leaderEpoch, List<Integer> replicas, List<Integer> isr) {}

    /** One topic as a node's Metadata response describes it: id and partitions by index. */
    record TopicState(Uuid id, Map<Integer, PartitionState> partitions) {}

    /**
     * A node's Metadata answer: the controller it names, the brokers it lists (live ones, as Kafka lists them) and
     * the topics asked for; a topic the node reported with an error is absent and its error is in {@code errors}.
     */
    record MetadataView(int controllerId, Set<Integer> brokers, Map<String, TopicState> topics,
            Map<String, Errors> errors) {
        TopicState topic(String name) {
            TopicState topic = topics.get(name);
            if (topic == null) {
                throw new AssertionError("topic " + name + " missing from " + this);
            }
            return topic;
        }
    }

    /** A node's ListOffsets answer for one partition: the error, the offset and the leader epoch it came with. */
    record OffsetAnswer(Errors error, long offset, int leaderEpoch) {}

    /** A node's Produce answer for one partition: the error (and its message) and the base offset given. */
    record ProduceAnswer(Errors error, String errorMessage, long baseOffset) {}

    /** One record a Fetch returned: offset, leader epoch of its batch and value (UTF-8). */
    record FetchedRecord(long offset, int batchLeaderEpoch, String value) {}

    /** A node's Fetch answer for one partition: error, high watermark, log start offset and the records. */
    record FetchAnswer(Errors error, long highWatermark, long logStartOffset, List<FetchedRecord> records) {}

    /** A node's DescribeCluster answer, with fenced brokers included. */
    record ClusterView(int controllerId, Set<Integer> liveBrokers, Set<Integer> fencedBrokers) {}

    /** Metadata v12 for {@code topics}, or every topic when {@code topics} is null; never creates topics. */
    static MetadataView metadata(int port, Collection<String> topics) {
        MetadataRequestData request = new MetadataRequestData()
                .setAllowAutoTopicCreation(false)
                .setTopics(topics == null ? null : topics.stream()
                        .map(name -> new MetadataRequestData.MetadataRequestTopic().setName(name))
                        .toList());
        MetadataResponseData response = new MetadataResponseData(
                send(port, ApiKeys.METADATA, METADATA_VERSION, request), METADATA_VERSION);
        Set<Integer> brokers = new TreeSet<>();
        response.brokers().forEach(broker -> brokers.add(broker.nodeId()));
        Map<String, TopicState> topicStates = new TreeMap<>();
        Map<String, Errors> errors = new TreeMap<>();
        for (MetadataResponseData.MetadataResponseTopic topic : response.topics()) {
            if (topic.errorCode() != Errors.NONE.code()) {
                errors.put(topic.name(), Errors.forCode(topic.errorCode()));
                continue;
            }
            Map<Integer, PartitionState> partitions = new TreeMap<>();
            for (MetadataResponseData.MetadataResponsePartition partition : topic.partitions()) {
                partitions.put(partition.partitionIndex(), new PartitionState(partition.leaderId(),
                        partition.leaderEpoch(), List.copyOf(partition.replicaNodes()),
                        List.copyOf(partition.isrNodes())));
            }
            topicStates.put(topic.name(), new TopicState(topic.topicId(), partitions));
        }
        return new MetadataView(response.controllerId(), brokers, topicStates, errors);
    }

    static MetadataView metadata(int port, String... topics) {
        return metadata(port, List.of(topics));
    }

    /** DescribeCluster v2 with {@code includeFencedBrokers}, so fenced brokers show with {@code isFenced}. */
    static ClusterView describeCluster(int port) {
        DescribeClusterRequestData request = new DescribeClusterRequestData()
                .setIncludeClusterAuthorizedOperations(false)
                .setEndpointType((byte) 1) // brokers
                .setIncludeFencedBrokers(true);
        DescribeClusterResponseData response = new DescribeClusterResponseData(
                send(port, ApiKeys.DESCRIBE_CLUSTER, DESCRIBE_CLUSTER_VERSION, request), DESCRIBE_CLUSTER_VERSION);
        if (response.errorCode() != Errors.NONE.code()) {
            throw new AssertionError("DescribeCluster on port " + port + " failed: "
                    + Errors.forCode(response.errorCode()) + " " + response.errorMessage());
        }
        Set<Integer> live = new TreeSet<>();
        Set<Integer> fenced = new TreeSet<>();
        response.brokers().forEach(broker -> (broker.isFenced() ? fenced : live).add(broker.brokerId()));
        return new ClusterView(response.controllerId(), live, fenced);
    }

    /** Produce v12 of one small record with {@code acks=1}; returns the partition's error (NONE on success). */
    static Errors produceOne(int port, TopicPartition partition, String value) {
        return produce(port, partition, (short) 1, List.of(value)).error();
    }

    /**
     * Produce v12 of one batch holding {@code values} (no producer id, so not idempotent) with {@code acks} 1 or
     * {@link #ACKS_ALL}; the node waits at most 5 s for the in-sync replicas before it answers REQUEST_TIMED_OUT.
     */
    static ProduceAnswer produce(int port, TopicPartition partition, short acks, List<String> values) {
        if (acks != 1 && acks != ACKS_ALL) {
            throw new IllegalArgumentException("acks must be 1 or -1 (acks=0 gets no answer to wait for): " + acks);
        }
        SimpleRecord[] records = values.stream()
                .map(value -> new SimpleRecord(value.getBytes(StandardCharsets.UTF_8)))
                .toArray(SimpleRecord[]::new);
        ProduceRequestData.TopicProduceDataCollection topics = new ProduceRequestData.TopicProduceDataCollection();
        topics.add(new ProduceRequestData.TopicProduceData()
                .setName(partition.topic())
                .setPartitionData(List.of(new ProduceRequestData.PartitionProduceData()
                        .setIndex(partition.partition())
                        .setRecords(MemoryRecords.withRecords(Compression.NONE, records)))));
        ProduceRequestData request = new ProduceRequestData()
                .setAcks(acks)
                .setTimeoutMs(5_000)
                .setTopicData(topics);
        ProduceResponseData response = new ProduceResponseData(
                send(port, ApiKeys.PRODUCE, PRODUCE_VERSION, request), PRODUCE_VERSION);
        for (ProduceResponseData.TopicProduceResponse topic : response.responses()) {
            for (ProduceResponseData.PartitionProduceResponse answer : topic.partitionResponses()) {
                if (answer.index() == partition.partition()) {
                    return new ProduceAnswer(Errors.forCode(answer.errorCode()), answer.errorMessage(),
                            answer.baseOffset());
                }
            }
        }
        throw new AssertionError("no answer for " + partition + " in " + response);
    }

    /**
     * {@link #produce}s {@code values} until the node accepts them once, within {@code deadline}: a leader that was
     * just elected (or whose topic was just created) may not know yet that it leads. Only errors after which the
     * node appended nothing are retried; any other (a timeout may have appended the batch) fails at once, so the
     * values are never written twice.
     */
    static ProduceAnswer produceUntilAccepted(int port, TopicPartition partition, short acks, List<String> values,
            Duration deadline) {
        Set<Errors> appendedNothing = Set.of(Errors.NOT_LEADER_OR_FOLLOWER, Errors.LEADER_NOT_AVAILABLE,
                Errors.UNKNOWN_TOPIC_OR_PARTITION, Errors.NOT_ENOUGH_REPLICAS, Errors.FENCED_LEADER_EPOCH);
        ProduceAnswer[] accepted = new ProduceAnswer[1];
        Awaitility.await("produce of " + values.size() + " records (" + values.get(0) + "..) to " + partition
                        + " on port " + port + " accepted")
                .atMost(deadline)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    ProduceAnswer answer = produce(port, partition, acks, values);
                    if (answer.error() != Errors.NONE && !appendedNothing.contains(answer.error())) {
                        throw new AssertionError("produce to " + partition + " on port " + port + ": " + answer);
                    }
                    accepted[0] = answer;
                    return answer.error() == Errors.NONE;
                });
        return accepted[0];
    }

    /** Fetch v12 of {@code partition} from offset 0, not waiting; returns the partition's error. */
    static Errors fetchFromStart(int port, TopicPartition partition) {
        return fetch(port, partition, 0).error();
    }

    /**
     * Fetch v12 of {@code partition} from {@code fetchOffset} as a consumer (replica id -1, read uncommitted), not
     * waiting, at most 256 KiB; returns the partition's error, high watermark, log start offset and the records at
     * or above {@code fetchOffset}.
     */
    static FetchAnswer fetch(int port, TopicPartition partition, long fetchOffset) {
        FetchRequestData request = new FetchRequestData()
                .setReplicaId(-1)
                .setMaxWaitMs(0)
                .setMinBytes(1)
                .setMaxBytes(256 * 1024)
                .setIsolationLevel((byte) 0)
                .setSessionId(0)
                .setSessionEpoch(-1) // a full fetch, no session
                .setTopics(List.of(new FetchRequestData.FetchTopic()
                        .setTopic(partition.topic())
                        .setPartitions(List.of(new FetchRequestData.FetchPartition()
                                .setPartition(partition.partition())
                                .setCurrentLeaderEpoch(-1)
                                .setFetchOffset(fetchOffset)
                                .setLogStartOffset(-1)
                                .setPartitionMaxBytes(256 * 1024)))));
        FetchResponseData response = new FetchResponseData(
                send(port, ApiKeys.FETCH, FETCH_VERSION, request), FETCH_VERSION);
        if (response.errorCode() != Errors.NONE.code()) {
            return new FetchAnswer(Errors.forCode(response.errorCode()), -1, -1, List.of());
        }
        List<FetchAnswer> answers = new ArrayList<>();
        for (FetchResponseData.FetchableTopicResponse topic : response.responses()) {
            for (FetchResponseData.PartitionData answer : topic.partitions()) {
                if (answer.partitionIndex() == partition.partition()) {
                    answers.add(new FetchAnswer(Errors.forCode(answer.errorCode()), answer.highWatermark(),
                            answer.logStartOffset(), records(answer.records(), fetchOffset)));
                }
            }
        }
        if (answers.size() != 1) {
            throw new AssertionError("expected one answer for " + partition + " in " + response);
        }
        return answers.get(0);
    }

    /**
     * ListOffsets v6 of {@code partition} at {@code timestamp} ({@link #LATEST_TIMESTAMP}: the high watermark;
     * {@link #EARLIEST_TIMESTAMP}: the log start) as a consumer, read uncommitted.
     */
    static OffsetAnswer listOffset(int port, TopicPartition partition, long timestamp) {
        ListOffsetsRequestData request = new ListOffsetsRequestData()
                .setReplicaId(-1)
                .setIsolationLevel((byte) 0)
                .setTopics(List.of(new ListOffsetsRequestData.ListOffsetsTopic()
                        .setName(partition.topic())
                        .setPartitions(List.of(new ListOffsetsRequestData.ListOffsetsPartition()
                                .setPartitionIndex(partition.partition())
                                .setCurrentLeaderEpoch(-1)
                                .setTimestamp(timestamp)))));
        ListOffsetsResponseData response = new ListOffsetsResponseData(
                send(port, ApiKeys.LIST_OFFSETS, LIST_OFFSETS_VERSION, request), LIST_OFFSETS_VERSION);
        for (ListOffsetsResponseData.ListOffsetsTopicResponse topic : response.topics()) {
            for (ListOffsetsResponseData.ListOffsetsPartitionResponse answer : topic.partitions()) {
                if (topic.name().equals(partition.topic()) && answer.partitionIndex() == partition.partition()) {
                    return new OffsetAnswer(Errors.forCode(answer.errorCode()), answer.offset(),
                            answer.leaderEpoch());
                }
            }
        }
        throw new AssertionError("no answer for " + partition + " in " + response);
    }

    /** The high watermark {@code port}'s node reports for {@code partition}; fails unless it answers NONE. */
    static long latestOffset(int port, TopicPartition partition) {
        OffsetAnswer answer = listOffset(port, partition, LATEST_TIMESTAMP);
        if (answer.error() != Errors.NONE) {
            throw new AssertionError("ListOffsets latest of " + partition + " on port " + port + ": " + answer);
        }
        return answer.offset();
    }

    private static List<FetchedRecord> records(BaseRecords fetched, long fetchOffset) {
        if (!(fetched instanceof MemoryRecords memory)) {
            return List.of();
        }
        List<FetchedRecord> records = new ArrayList<>();
        for (RecordBatch batch : memory.batches()) { // a batch cut off at the size limit is not returned
            for (Record record : batch) {
                if (record.offset() >= fetchOffset) {
                    String value = record.hasValue()
                            ? StandardCharsets.UTF_8.decode(record.value()).toString() : null;
                    records.add(new FetchedRecord(record.offset(), batch.partitionLeaderEpoch(), value));
                }
            }
        }
        return records;
    }

    /** Sends one request and returns the response body, positioned after the response header. */
    private static ByteBufferAccessor send(int port, ApiKeys api, short version, ApiMessage body) {
        return send(port, api, version, body, RESPONSE_DEADLINE);
    }

    /** As {@link #send(int, ApiKeys, short, ApiMessage)}, waiting up to {@code responseDeadline} for the answer. */
    static ByteBufferAccessor send(int port, ApiKeys api, short version, ApiMessage body, Duration responseDeadline) {
        int correlationId = CORRELATION_IDS.incrementAndGet();
        RequestHeader header = new RequestHeader(api, version, "tributary-it", correlationId);
        ByteBuffer payload = RequestUtils.serialize(header.data(), header.headerVersion(), body, version);
        byte[] bytes = new byte[payload.remaining()];
        payload.get(bytes);
        try (RawConnection connection = new RawConnection(port)) {
            connection.write(RawConnection.sizePrefixed(bytes.length, bytes));
            ByteBuffer frame = connection.readFrame(responseDeadline);
            ResponseHeader responseHeader = ResponseHeader.parse(frame, api.responseHeaderVersion(version));
            if (responseHeader.correlationId() != correlationId) {
                throw new AssertionError(api + " on port " + port + ": correlation id "
                        + responseHeader.correlationId() + ", expected " + correlationId);
            }
            return new ByteBufferAccessor(frame);
        } catch (IOException e) {
            throw new UncheckedIOException(api + " v" + version + " to 127.0.0.1:" + port + " failed", e);
        }
    }
}
