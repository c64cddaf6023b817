package io.tributary.node;

import io.tributary.metadata.ControllerChannel;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.AlterPartitionRequest;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.replication.IsrChangeResult;
import io.tributary.replication.IsrChannel;
import io.tributary.replication.IsrProposal;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sends a partition leader's ISR changes to the active controller as AlterPartition requests. */
final class ControllerIsrChannel implements IsrChannel {

    private static final Logger log = LoggerFactory.getLogger(ControllerIsrChannel.class);

    private final int nodeId;
    private final ControllerChannel controller;
    private final LongSupplier brokerEpoch;

    ControllerIsrChannel(int nodeId, ControllerChannel controller, LongSupplier brokerEpoch) {
        this.nodeId = nodeId;
        this.controller = controller;
        this.brokerEpoch = brokerEpoch;
    }

    @Override
    public CompletableFuture<IsrChangeResult> alterIsr(UUID topicId, int partition, IsrProposal proposal) {
        AlterPartitionRequest request = AlterPartitionRequest.newBuilder()
                .setBrokerId(nodeId)
                .setBrokerEpoch(brokerEpoch.getAsLong())
                .setTopicId(Uuids.toProto(topicId))
                .setPartition(partition)
                .setLeaderEpoch(proposal.leaderEpoch())
                .setPartitionEpoch(proposal.partitionEpoch())
                .addAllNewIsr(proposal.isr())
                .build();
        return controller.send(ControllerRequest.newBuilder().setAlterPartition(request).build())
                .thenApply(response -> {
                    IsrChangeResult result = IsrChangeResult.of(response.getError());
                    if (result != IsrChangeResult.COMMITTED) {
                        log.info("node={} AlterPartition of {} partition {} answered {}: {} {}", nodeId, topicId,
                                partition, result, response.getError(), response.getErrorMessage());
                    }
                    return result;
                });
    }
}
