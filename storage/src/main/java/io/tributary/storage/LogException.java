package io.tributary.storage;

import java.util.Objects;

/**
 * An operating error of the partition log, carrying a {@link LogError} for the caller to map to its protocol.
 * Nothing was written to the log when an append throws this. Programmer errors (bad arguments) are
 * {@link IllegalArgumentException}s instead; disk failures are {@link java.io.IOException}s.
 */
public class LogException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final LogError error;

    public LogException(LogError error, String message) {
        super(message);
        this.error = Objects.requireNonNull(error, "error");
    }

    public LogError error() {
        return error;
    }

    @Override
    public String toString() {
        return "LogException(" + error + "): " + getMessage();
    }
}
