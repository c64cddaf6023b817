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
    /** A block is being fetched for {@link #tryNextProducerId} (at most one at a time). */
    private boolean fetching;

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

    /**
     * The next unused producer id without blocking, or -1 if the current block is used up: a new block is then asked
     * for in the background, and a later call gets an id from it (the transaction coordinator answers the client
     * COORDINATOR_LOAD_IN_PROGRESS meanwhile, which it retries).
     */
    public synchronized long tryNextProducerId() {
        if (next < end) {
            return next++;
        }
        if (!fetching) {
            fetching = true;
            controller.send(ControllerRequest.newBuilder().setAllocateProducerIds(
                    AllocateProducerIdsRequest.newBuilder().setBrokerId(nodeId).setSize(BLOCK_SIZE)).build())
                    .whenComplete((block, e) -> {
                        synchronized (this) {
                            fetching = false;
                            if (e == null && block.getError() == ControllerErrorCode.NONE && next >= end) {
                                next = block.getProducerIds().getFirstProducerId();
                                end = next + block.getProducerIds().getSize();
                            }
                        }
                    });
        }
        return -1;
    }
}
