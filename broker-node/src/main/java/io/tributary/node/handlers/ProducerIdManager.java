package io.tributary.node.handlers;

import io.tributary.metadata.ControllerChannel;
import io.tributary.proto.metadata.AllocateProducerIdsRequest;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;

/**
 * Hands out producer ids from blocks that the controller commits to the metadata, so ids are unique across the
 * cluster and across restarts. Thread-safe; asks for a new block only when the current one is used up.
 */
public final class ProducerIdManager {

    static final int BLOCK_SIZE = 1000;

    private final ControllerChannel controller;
    private final int nodeId;
    private long next;
    private long end;

    public ProducerIdManager(ControllerChannel controller, int nodeId) {
        this.controller = controller;
        this.nodeId = nodeId;
    }

    /** The next unused producer id; blocks while a new block is fetched from the controller. */
    public synchronized long nextProducerId() {
        if (next >= end) {
            ControllerResponse block = controller.send(ControllerRequest.newBuilder().setAllocateProducerIds(
                    AllocateProducerIdsRequest.newBuilder().setBrokerId(nodeId).setSize(BLOCK_SIZE)).build()).join();
            if (block.getError() != ControllerErrorCode.NONE) {
                throw new IllegalStateException("controller refused a producer id block: " + block.getError());
            }
            next = block.getProducerIds().getFirstProducerId();
            end = next + block.getProducerIds().getSize();
        }
        return next++;
    }
}
