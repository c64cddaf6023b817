package io.tributary.node.handlers;

import io.tributary.replication.Partition;
import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.DescribeLogDirsRequestData;
import org.apache.kafka.common.message.DescribeLogDirsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeLogDirs v1-v4 ({@code kafka-log-dirs --describe}): the node's one log dir (the folder holding a folder per
 * hosted replica) with each hosted replica's size on disk and offset lag, and (v4) the file store's total and usable
 * bytes. As Kafka: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED with no results (the error code exists
 * from v3; older versions get only the empty result); null topics means every hosted replica; the offset lag is
 * {@code max(high watermark - log end offset, 0)} (Kafka's {@code ReplicaManager.getLogEndOffsetLag}), 0 on a leader.
 * There are no future replicas (no AlterReplicaLogDirs). v0 was removed in Kafka 4.0 and kafka-clients cannot
 * decode it.
 *
 * <p>Threads: any I/O thread; reads the hosted replicas' published sizes and offsets without locking their logs.
 */
public final class DescribeLogDirsHandler implements ApiHandler {

    private final NodeServices node;

    public DescribeLogDirsHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_LOG_DIRS;
    }

    @Override
    public short minVersion() {
        return 1;
    }

    @Override
    public short maxVersion() {
        return 4;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DescribeLogDirsRequestData request = (DescribeLogDirsRequestData) message;
        DescribeLogDirsResponseData response = new DescribeLogDirsResponseData();
        if (!node.allowedOnCluster(context, AclOperation.DESCRIBE)) {
            return CompletableFuture.completedFuture(response
                    .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()));
        }
        Map<String, Set<Integer>> wanted = null;
        if (request.topics() != null) {
            wanted = new HashMap<>();
            for (DescribeLogDirsRequestData.DescribableLogDirTopic t : request.topics()) {
                wanted.computeIfAbsent(t.topic(), k -> new HashSet<>()).addAll(t.partitions());
            }
        }
        Map<String, List<DescribeLogDirsResponseData.DescribeLogDirsPartition>> byTopic = new TreeMap<>();
        for (Partition p : node.replicas().partitions()) {
            Set<Integer> partitions = wanted == null ? null : wanted.get(p.id().topic());
            if (wanted != null && (partitions == null || !partitions.contains(p.id().partition()))) {
                continue;
            }
            byTopic.computeIfAbsent(p.id().topic(), k -> new ArrayList<>())
                    .add(new DescribeLogDirsResponseData.DescribeLogDirsPartition()
                            .setPartitionIndex(p.id().partition())
                            .setPartitionSize(p.log().sizeInBytes())
                            .setOffsetLag(offsetLag(p))
                            .setIsFutureKey(false));
        }
        List<DescribeLogDirsResponseData.DescribeLogDirsTopic> topics = new ArrayList<>();
        byTopic.forEach((name, partitions) -> topics.add(new DescribeLogDirsResponseData.DescribeLogDirsTopic()
                .setName(name).setPartitions(partitions)));
        DescribeLogDirsResponseData.DescribeLogDirsResult dir = new DescribeLogDirsResponseData.DescribeLogDirsResult()
                .setLogDir(node.replicas().logsDir().toAbsolutePath().toString())
                .setTopics(topics);
        try {
            FileStore store = Files.getFileStore(node.replicas().logsDir());
            dir.setErrorCode(Errors.NONE.code()).setTotalBytes(store.getTotalSpace())
                    .setUsableBytes(store.getUsableSpace());
        } catch (IOException e) {
            // Kafka answers an offline log dir with KAFKA_STORAGE_ERROR and no topics.
            dir.setErrorCode(Errors.KAFKA_STORAGE_ERROR.code()).setTopics(List.of());
        }
        response.results().add(dir);
        return CompletableFuture.completedFuture(response.setErrorCode(Errors.NONE.code()));
    }

    /** Kafka's {@code getLogEndOffsetLag}: how far the log end trails the high watermark, never negative. */
    static long offsetLag(Partition p) {
        return Math.max(p.highWatermark() - p.log().logEndOffset(), 0);
    }
}
