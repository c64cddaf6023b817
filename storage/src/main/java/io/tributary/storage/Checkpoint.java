package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single offset kept in a small text file of the partition directory ({@code recovery-point},
 * {@code log-start-offset}). Format, UTF-8, two lines: {@code 0} (the format version) then the offset in decimal.
 * Replaced atomically (write temporary, fsync, rename). Stateless; callers serialise writes of one file.
 */
final class Checkpoint {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpoint.class);
    private static final String VERSION = "0";

    private Checkpoint() {
    }

    /** The offset in {@code file}, or {@code missing} if the file is absent or unreadable (logged). */
    static long read(Path file, long missing) throws IOException {
        if (!Files.isRegularFile(file)) {
            return missing;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.size() >= 2 && VERSION.equals(lines.get(0).trim())) {
            try {
                return Long.parseLong(lines.get(1).trim());
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        LOG.warn("Ignoring malformed checkpoint file={} lines={}", file, lines.size());
        return missing;
    }

    static void write(Path file, long offset) throws IOException {
        byte[] bytes = (VERSION + "\n" + offset + "\n").getBytes(StandardCharsets.UTF_8);
        DiskIo.writeAtomically(file, ByteBuffer.wrap(bytes));
    }
}
