package io.tributary.node.handlers;

import io.tributary.metadata.BrokerRegistration;
import io.tributary.metadata.QuorumDescription;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.apache.kafka.common.message.DescribeQuorumRequestData;
import org.apache.kafka.common.message.DescribeQuorumResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/**
 * DescribeQuorum v0-v2 ({@code kafka-metadata-quorum describe --status / --replication}): the metadata quorum as
 * its leader sees it (asked through the controller channel, as Kafka brokers forward it), as Kafka's
 * {@code __cluster_metadata} partition 0: the Raft term is the leader epoch, the commit index + 1 the high watermark,
 * and each voter's log end offset and last fetch come from the leader's replication state. Without an answering
 * leader the partition error is NOT_LEADER_OR_FOLLOWER.
 */
public final class DescribeQuorumHandler implements ApiHandler {

    private static final String METADATA_TOPIC = "__cluster_metadata";

    private final NodeServices node;
    private final Supplier<CompletableFuture<QuorumDescription>> quorum;

    /** @param quorum the quorum as its leader sees it; completes with null if no leader answered */
    public DescribeQuorumHandler(NodeServices node, Supplier<CompletableFuture<QuorumDescription>> quorum) {
        this.node = node;
        this.quorum = quorum;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_QUORUM;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 2;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DescribeQuorumRequestData request = (DescribeQuorumRequestData) message;
        if (!node.allowedOnCluster(context, AclOperation.DESCRIBE)) {
            return CompletableFuture.completedFuture(new DescribeQuorumResponseData()
                    .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()));
        }
        boolean asksMetadata = request.topics().size() == 1
                && METADATA_TOPIC.equals(request.topics().get(0).topicName())
                && request.topics().get(0).partitions().size() == 1
                && request.topics().get(0).partitions().get(0).partitionIndex() == 0;
        if (!asksMetadata) {
            return CompletableFuture.completedFuture(new DescribeQuorumResponseData()
                    .setErrorCode(Errors.INVALID_REQUEST.code())
                    .setErrorMessage("DescribeQuorum describes " + METADATA_TOPIC + " partition 0 only"));
        }
        return quorum.get().thenApply(described -> respond(described, context.listenerName()));
    }

    private ApiMessage respond(QuorumDescription described, String listenerName) {
        DescribeQuorumResponseData.PartitionData partition = new DescribeQuorumResponseData.PartitionData()
                .setPartitionIndex(0);
        if (described == null) {
            partition.setErrorCode(Errors.NOT_LEADER_OR_FOLLOWER.code())
                    .setErrorMessage("no metadata quorum leader answered node " + node.config().nodeId());
        } else {
            partition.setErrorCode(Errors.NONE.code())
                    .setLeaderId(described.leaderId())
                    .setLeaderEpoch((int) Math.min(Integer.MAX_VALUE, described.term()))
                    .setHighWatermark(described.highWatermark())
                    .setCurrentVoters(described.voters().stream().map(v -> new DescribeQuorumResponseData.ReplicaState()
                            .setReplicaId(v.id())
                            .setLogEndOffset(v.logEndOffset())
                            .setLastFetchTimestamp(v.lastFetchTimestamp())
                            .setLastCaughtUpTimestamp(v.lastCaughtUpTimestamp())).toList())
                    .setObservers(List.of());
        }
        DescribeQuorumResponseData response = new DescribeQuorumResponseData()
                .setErrorCode(Errors.NONE.code())
                .setTopics(List.of(new DescribeQuorumResponseData.TopicData().setTopicName(METADATA_TOPIC)
                        .setPartitions(List.of(partition))));
        if (described != null) {
            // v2: where each voter listens (its registered client endpoint, if it registered as a broker).
            DescribeQuorumResponseData.NodeCollection nodes = new DescribeQuorumResponseData.NodeCollection();
            for (QuorumDescription.Voter v : described.voters()) {
                BrokerRegistration b = node.metadata().image().brokers().get(v.id());
                DescribeQuorumResponseData.ListenerCollection listeners =
                        new DescribeQuorumResponseData.ListenerCollection();
                BrokerRegistration.BrokerEndpoint e = b == null ? null
                        : b.endpoint(listenerName).orElse(null);
                if (e != null) {
                    listeners.add(new DescribeQuorumResponseData.Listener().setName(e.name()).setHost(e.host())
                            .setPort(e.port()));
                }
                nodes.add(new DescribeQuorumResponseData.Node().setNodeId(v.id()).setListeners(listeners));
            }
            response.setNodes(nodes);
        }
        return response;
    }
}
