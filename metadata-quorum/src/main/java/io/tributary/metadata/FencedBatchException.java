package io.tributary.metadata;

/**
 * A metadata batch committed in another Raft term than the one of the controller that decided it: the quorum
 * logged it, and every voter skipped it. The controller that sent it is no longer the active one.
 */
public final class FencedBatchException extends RuntimeException {

    public FencedBatchException(String message) {
        super(message);
    }
}
