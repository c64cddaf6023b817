package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.common.Uuid;

/**
 * The {@code partition.metadata} file of a partition directory: which topic incarnation (topic id) the log belongs
 * to, in Kafka's format ({@code version: 0} then {@code topic_id: <base64 id>}). A directory named {@code t-0} may
 * hold the data of a deleted topic {@code t} or of the one created after it under the same name; the id tells them
 * apart, so that a broker never opens one as the other, and deletes a log only for its own topic id.
 */
public final class PartitionMetadataFile {

    public static final String FILE_NAME = "partition.metadata";

    private PartitionMetadataFile() {
    }

    /** The topic id recorded in {@code dir}; empty if the directory has no such file (or does not exist). */
    public static Optional<UUID> read(Path dir) throws IOException {
        String content;
        try {
            content = Files.readString(dir.resolve(FILE_NAME), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        String version = null;
        String topicId = null;
        for (String line : content.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).trim();
            String value = line.substring(colon + 1).trim();
            if (key.equals("version")) {
                version = value;
            } else if (key.equals("topic_id")) {
                topicId = value;
            }
        }
        if (!"0".equals(version) || topicId == null) {
            throw new IOException("malformed " + dir.resolve(FILE_NAME) + ": expected version 0 and a topic_id");
        }
        try {
            Uuid id = Uuid.fromString(topicId);
            return Optional.of(new UUID(id.getMostSignificantBits(), id.getLeastSignificantBits()));
        } catch (IllegalArgumentException e) {
            throw new IOException("malformed topic_id in " + dir.resolve(FILE_NAME) + ": " + topicId, e);
        }
    }

    /**
     * Records {@code topicId} in {@code dir}: atomic replace, the file fsynced. The directory entry becomes durable
     * with the directory's next fsync ({@link PartitionLog#open} does one), so write it before opening the log.
     */
    public static void write(Path dir, UUID topicId) throws IOException {
        Files.createDirectories(dir);
        String content = "version: 0\ntopic_id: "
                + new Uuid(topicId.getMostSignificantBits(), topicId.getLeastSignificantBits()) + "\n";
        DiskIo.writeAtomically(dir.resolve(FILE_NAME), ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
    }
}
