package io.tributary.storage;

import java.util.List;
import java.util.Objects;

/**
 * An operating error of the partition log, carrying a {@link LogError} for the caller to map to its protocol.
 * Nothing was written to the log when an append throws this. Programmer errors (bad arguments) are
 * {@link IllegalArgumentException}s instead; disk failures are {@link java.io.IOException}s.
 */
public class LogException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final LogError error;
    private final List<Integer> recordIndexes;

    public LogException(LogError error, String message) {
        this(error, message, List.of());
    }

    /** @param recordIndexes the records at fault, by index in the appended batches (Kafka's record errors) */
    public LogException(LogError error, String message, List<Integer> recordIndexes) {
        super(message);
        this.error = Objects.requireNonNull(error, "error");
        this.recordIndexes = List.copyOf(recordIndexes);
    }

    public LogError error() {
        return error;
    }

    /** The records at fault, by index in the appended batches; empty when the error is not about single records. */
    public List<Integer> recordIndexes() {
        return recordIndexes;
    }

    @Override
    public String toString() {
        return "LogException(" + error + "): " + getMessage();
    }
}
