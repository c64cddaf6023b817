package io.tributary.node.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
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
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.RequestUtils;
import org.apache.kafka.common.requests.ResponseHeader;

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
        ProduceRequestData.TopicProduceDataCollection topics = new ProduceRequestData.TopicProduceDataCollection();
        topics.add(new ProduceRequestData.TopicProduceData()
                .setName(partition.topic())
                .setPartitionData(List.of(new ProduceRequestData.PartitionProduceData()
                        .setIndex(partition.partition())
                        .setRecords(MemoryRecords.withRecords(Compression.NONE,
                                new SimpleRecord(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)))))));
        ProduceRequestData request = new ProduceRequestData()
                .setAcks((short) 1)
                .setTimeoutMs(5_000)
                .setTopicData(topics);
        ProduceResponseData response = new ProduceResponseData(
                send(port, ApiKeys.PRODUCE, PRODUCE_VERSION, request), PRODUCE_VERSION);
        for (ProduceResponseData.TopicProduceResponse topic : response.responses()) {
            for (ProduceResponseData.PartitionProduceResponse answer : topic.partitionResponses()) {
                if (answer.index() == partition.partition()) {
                    return Errors.forCode(answer.errorCode());
                }
            }
        }
        throw new AssertionError("no answer for " + partition + " in " + response);
    }

    /** Fetch v12 of {@code partition} from offset 0, not waiting; returns the partition's error. */
    static Errors fetchFromStart(int port, TopicPartition partition) {
        FetchRequestData request = new FetchRequestData()
                .setReplicaId(-1)
                .setMaxWaitMs(0)
                .setMinBytes(1)
                .setMaxBytes(64 * 1024)
                .setIsolationLevel((byte) 0)
                .setSessionId(0)
                .setSessionEpoch(-1) // a full fetch, no session
                .setTopics(List.of(new FetchRequestData.FetchTopic()
                        .setTopic(partition.topic())
                        .setPartitions(List.of(new FetchRequestData.FetchPartition()
                                .setPartition(partition.partition())
                                .setCurrentLeaderEpoch(-1)
                                .setFetchOffset(0)
                                .setLogStartOffset(-1)
                                .setPartitionMaxBytes(32 * 1024)))));
        FetchResponseData response = new FetchResponseData(
                send(port, ApiKeys.FETCH, FETCH_VERSION, request), FETCH_VERSION);
        if (response.errorCode() != Errors.NONE.code()) {
            return Errors.forCode(response.errorCode());
        }
        List<Errors> errors = new ArrayList<>();
        for (FetchResponseData.FetchableTopicResponse topic : response.responses()) {
            for (FetchResponseData.PartitionData answer : topic.partitions()) {
                if (answer.partitionIndex() == partition.partition()) {
                    errors.add(Errors.forCode(answer.errorCode()));
                }
            }
        }
        if (errors.size() != 1) {
            throw new AssertionError("expected one answer for " + partition + " in " + response);
        }
        return errors.get(0);
    }

    /** Sends one request and returns the response body, positioned after the response header. */
    private static ByteBufferAccessor send(int port, ApiKeys api, short version, ApiMessage body) {
        int correlationId = CORRELATION_IDS.incrementAndGet();
        RequestHeader header = new RequestHeader(api, version, "tributary-it", correlationId);
        ByteBuffer payload = RequestUtils.serialize(header.data(), header.headerVersion(), body, version);
        byte[] bytes = new byte[payload.remaining()];
        payload.get(bytes);
        try (RawConnection connection = new RawConnection(port)) {
            connection.write(RawConnection.sizePrefixed(bytes.length, bytes));
            ByteBuffer frame = connection.readFrame(RESPONSE_DEADLINE);
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
