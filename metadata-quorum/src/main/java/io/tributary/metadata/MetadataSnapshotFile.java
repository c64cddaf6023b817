package io.tributary.metadata;

import com.google.protobuf.InvalidProtocolBufferException;
import io.tributary.proto.metadata.ImageSnapshot;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.util.MD5FileUtil;

/**
 * The bytes of a metadata snapshot on disk, as {@link MetadataStateMachine} writes and reads them in Ratis' simple
 * snapshot storage: {@code snapshot.<term>_<index>} holds one {@link ImageSnapshot} protobuf, and
 * {@code snapshot.<term>_<index>.md5} its MD5 in Ratis' format ({@code <32 hex digits> *<file name>}), which Ratis
 * also writes for a snapshot installed from the leader.
 *
 * <p>Write order, each step durable before the next: the bytes to {@code <name>.tmp}, fsync, atomic rename, fsync
 * of the folder, then the MD5 file, fsync of it and of the folder. A snapshot without its MD5 file was cut short
 * by a crash; Ratis then prefers an older snapshot that has one (it purges its log only after a snapshot is taken).
 *
 * <p>A snapshot that is read is verified against its MD5 before it is parsed: a torn or flipped file can parse as a
 * smaller or even empty image, and a node that believed it would delete the logs the image no longer names. So a
 * snapshot that fails any check is refused with an {@link IOException}, and the node does not start.
 *
 * <p>Stateless; callers serialise access to one snapshot file.
 */
final class MetadataSnapshotFile {

    private MetadataSnapshotFile() {}

    /** Writes {@code snapshot} to {@code file} and its MD5 beside it, both durable when this returns. */
    static void write(File file, ImageSnapshot snapshot) throws IOException {
        Path target = file.toPath();
        Path dir = target.getParent();
        Path tmp = dir.resolve(file.getName() + ".tmp");
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bytes = ByteBuffer.wrap(snapshot.toByteArray());
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(dir);
        // Computed from the file, not the bytes in memory: the MD5 vouches for what was written.
        MD5FileUtil.saveMD5File(file, MD5FileUtil.computeMd5ForFile(file));
        fsync(MD5FileUtil.getDigestFileForFile(file).toPath());
        fsyncDirectory(dir);
    }

    /**
     * Reads the snapshot in {@code file} after checking it against its MD5 file.
     *
     * @throws IOException naming the file if its MD5 file is missing or unreadable, the MD5 does not match, or the
     *     bytes do not parse as an image
     */
    static MetadataImage read(File file) throws IOException {
        MD5Hash stored;
        try {
            stored = MD5FileUtil.readStoredMd5ForFile(file);
        } catch (IOException e) {
            throw corrupt(file, "its MD5 file cannot be read (" + e.getMessage() + ")", e);
        }
        if (stored == null) {
            throw corrupt(file, "its MD5 file " + MD5FileUtil.getDigestFileForFile(file).getName() + " is missing",
                    null);
        }
        byte[] bytes = Files.readAllBytes(file.toPath());
        MD5Hash actual = MD5Hash.newInstance(MD5FileUtil.newMD5().digest(bytes));
        if (!actual.equals(stored)) {
            throw corrupt(file, "its MD5 is " + actual + " but " + stored + " was saved with it (" + bytes.length
                    + " bytes)", null);
        }
        try {
            return MetadataImage.fromSnapshot(ImageSnapshot.parseFrom(bytes));
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            throw corrupt(file, "it does not parse as an image (" + e.getMessage() + ")", e);
        }
    }

    static IOException corrupt(File file, String reason, Throwable cause) {
        return new IOException("metadata snapshot " + file + " is corrupt: " + reason + "; refusing to start", cause);
    }

    private static void fsync(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Makes a rename or a new file in {@code dir} durable (Linux: fsync of the folder). */
    private static void fsyncDirectory(Path dir) throws IOException {
        fsync(dir);
    }
}
