package io.tributary.storage;

import java.nio.ByteBuffer;

/**
 * The outcome of a read: whole stored batches, byte-exact, plus the log bounds as they were when the read began.
 *
 * @param records        a fresh buffer (position 0, limit = bytes read) owned by the caller; empty when nothing
 *                       could be returned
 * @param logStartOffset the log start offset seen by the read
 * @param logEndOffset   the log end offset seen by the read; no returned batch reaches it
 */
public record LogReadResult(ByteBuffer records, long logStartOffset, long logEndOffset) {
}
