package io.tributary.node;

import io.tributary.metadata.ControllerChannel;
import io.tributary.metadata.PartitionImage;
import io.tributary.metadata.Uuids;
import io.tributary.proto.metadata.AlterPartitionRequest;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.replication.IsrChannel;
import java.util.List;
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
    public CompletableFuture<Boolean> alterIsr(UUID topicId, PartitionImage current, List<Integer> newIsr) {
        AlterPartitionRequest request = AlterPartitionRequest.newBuilder()
                .setBrokerId(nodeId)
                .setBrokerEpoch(brokerEpoch.getAsLong())
                .setTopicId(Uuids.toProto(topicId))
                .setPartition(current.partition())
                .setLeaderEpoch(current.leaderEpoch())
                .setPartitionEpoch(current.partitionEpoch())
                .addAllNewIsr(newIsr)
                .build();
        return controller.send(ControllerRequest.newBuilder().setAlterPartition(request).build())
                .thenApply(response -> {
                    if (response.getError() != ControllerErrorCode.NONE) {
                        log.info("node={} AlterPartition of {} partition {} refused: {} {}", nodeId, topicId,
                                current.partition(), response.getError(), response.getErrorMessage());
                        return false;
                    }
                    return true;
                });
    }
}
