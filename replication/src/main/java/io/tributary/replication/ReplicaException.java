package io.tributary.replication;

/** A partition operation refused by the replica manager; an operating error, carried as a value. */
public class ReplicaException extends RuntimeException {

    private final ReplicaError error;

    public ReplicaException(ReplicaError error, String message) {
        super(message, null, false, false);
        this.error = error;
    }

    public ReplicaError error() {
        return error;
    }
}
