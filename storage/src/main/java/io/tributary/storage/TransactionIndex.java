package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The aborted transactions whose ABORT marker is in one segment (Kafka's {@code TransactionIndex}), file
 * {@code <base>.txnindex}: 34-byte entries, big-endian, in marker order, Kafka's own layout:
 * <pre>
 *  0 version           int16   0
 *  2 producerId        int64
 * 10 firstOffset       int64
 * 18 lastOffset        int64   the ABORT marker's offset
 * 26 lastStableOffset  int64
 * </pre>
 * The file exists only once a segment has an aborted transaction. It is appended to (never rewritten, except by a
 * truncation) and fsynced with the segment's indexes (a flush, the log's roll flush, close); a torn last entry after
 * a crash is ignored, and the loader rebuilds the entries of replayed markers anyway (the index is derived from the
 * log: the markers and the producer state).
 * Compaction writes a cleaned segment's index whole, beside its copy, and swaps it in with it (see
 * {@link PartitionLog#clean}): the entries of the aborted transactions that still have data, whatever segment of the
 * merged group held them.
 *
 * <p>Bound: one entry per aborted transaction whose marker is in the segment; held on the heap (34 bytes each) as
 * the offset index is.
 *
 * <p>Threads: mutated under the log's append lock; {@link #collect} may run under the read lock, concurrently with
 * an append, so the entry list is copied on write.
 */
final class TransactionIndex {
    static final String SUFFIX = ".txnindex";
    static final int ENTRY_SIZE = 34;
    private static final short VERSION = 0;

    private final Path file;
    private volatile List<AbortedTxn> entries;
    private FileChannel channel;

    private TransactionIndex(Path file, List<AbortedTxn> entries) {
        this.file = file;
        this.entries = List.copyOf(entries);
    }

    /**
     * The index of {@code file} (of the segment at {@code baseOffset}), empty if it does not exist. Reading stops at
     * the first entry that cannot be one (a torn or zeroed tail): another version, a negative producer id, a marker
     * below the segment, or a first offset not below its marker.
     */
    static TransactionIndex open(Path file, long baseOffset) throws IOException {
        List<AbortedTxn> entries = new ArrayList<>();
        if (Files.exists(file)) {
            ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
            while (bytes.remaining() >= ENTRY_SIZE) {
                short version = bytes.getShort();
                AbortedTxn txn = new AbortedTxn(bytes.getLong(), bytes.getLong(), bytes.getLong(), bytes.getLong());
                if (version != VERSION || txn.producerId() < 0 || txn.lastOffset() < baseOffset
                        || txn.firstOffset() < 0 || txn.firstOffset() >= txn.lastOffset()) {
                    break;
                }
                entries.add(txn);
            }
        }
        return new TransactionIndex(file, entries);
    }

    List<AbortedTxn> entries() {
        return entries;
    }

    /** Appends {@code txn} (its marker is the newest in the segment). Append lock. */
    void append(AbortedTxn txn) throws IOException {
        if (channel == null) {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        }
        ByteBuffer entry = ByteBuffer.allocate(ENTRY_SIZE).putShort(VERSION).putLong(txn.producerId())
                .putLong(txn.firstOffset()).putLong(txn.lastOffset()).putLong(txn.lastStableOffset()).flip();
        DiskIo.writeFully(channel, entry, (long) entries.size() * ENTRY_SIZE);
        List<AbortedTxn> next = new ArrayList<>(entries);
        next.add(txn);
        entries = List.copyOf(next);
    }

    /** Drops the entries whose marker is at or after {@code offset}, on disk too (atomically). Append lock. */
    void truncateTo(long offset) throws IOException {
        List<AbortedTxn> kept = entries.stream().filter(e -> e.lastOffset() < offset).toList();
        if (kept.size() == entries.size()) {
            return;
        }
        replace(kept);
    }

    /** Replaces every entry (the loader's rebuild). Append lock, or before the log is shared. */
    void replace(List<AbortedTxn> all) throws IOException {
        closeChannel();
        if (all.isEmpty()) {
            Files.deleteIfExists(file);
        } else {
            DiskIo.writeAtomically(file, encode(all));
        }
        entries = List.copyOf(all);
    }

    /**
     * Writes {@code all} as the whole of {@code file}, fsynced; no entry gives an empty file (a compaction's cleaned
     * copy always has one, see {@link PartitionLog#txnIndexSwapFileName}).
     */
    static void writeFile(Path file, List<AbortedTxn> all) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            DiskIo.writeFully(ch, encode(all), 0);
            ch.force(true);
        }
    }

    private static ByteBuffer encode(List<AbortedTxn> all) {
        ByteBuffer content = ByteBuffer.allocate(all.size() * ENTRY_SIZE);
        for (AbortedTxn txn : all) {
            content.putShort(VERSION).putLong(txn.producerId()).putLong(txn.firstOffset())
                    .putLong(txn.lastOffset()).putLong(txn.lastStableOffset());
        }
        return content.flip();
    }

    /** The aborted transactions that overlap [{@code fromOffset}, {@code toOffset}). */
    List<AbortedTxn> collect(long fromOffset, long toOffset) {
        List<AbortedTxn> overlapping = new ArrayList<>();
        for (AbortedTxn txn : entries) {
            if (txn.lastOffset() >= fromOffset && txn.firstOffset() < toOffset) {
                overlapping.add(txn);
            }
        }
        return overlapping;
    }

    void flush() throws IOException {
        if (channel != null) {
            channel.force(true);
        }
    }

    void close() throws IOException {
        closeChannel();
    }

    void deleteFile() throws IOException {
        closeChannel();
        Files.deleteIfExists(file);
    }

    private void closeChannel() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }
}
