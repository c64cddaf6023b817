package io.tributary.node.handlers;

import io.tributary.metadata.Controller;
import io.tributary.metadata.ControllerResult;

/**
 * Hands out producer ids from blocks that the controller commits to the metadata, so ids are unique across the
 * cluster and across restarts. Thread-safe; asks for a new block only when the current one is used up.
 */
public final class ProducerIdManager {

    static final int BLOCK_SIZE = 1000;

    private final Controller controller;
    private final int nodeId;
    private long next;
    private long end;

    public ProducerIdManager(Controller controller, int nodeId) {
        this.controller = controller;
        this.nodeId = nodeId;
    }

    public synchronized long nextProducerId() {
        if (next >= end) {
            ControllerResult<Long> block = controller.allocateProducerIds(nodeId, BLOCK_SIZE).join();
            next = block.response();
            end = next + BLOCK_SIZE;
        }
        return next++;
    }
}
