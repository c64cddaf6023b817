package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader-epoch cache of one partition replica (Kafka's {@code LeaderEpochFileCache}, KIP-101/KIP-279/KIP-320):
 * for every leader epoch that wrote to this log, the offset of its first record, as a list of {@link EpochEntry}
 * ascending in both epoch and start offset (both strictly). It answers {@link #endOffsetFor} ("where did epoch N
 * end?"), which a follower uses to find where its log diverges from the leader's, and which the leader uses to
 * answer OffsetForLeaderEpoch.
 *
 * <p>File {@value #FILE_NAME} in the partition directory, UTF-8 text, Kafka's own checkpoint layout (so a Kafka
 * {@code LeaderEpochCheckpointFile} reads it):
 * <pre>
 * 0                   format version
 * 2                   number of entries
 * 0 0                 "epoch startOffset", one line per entry, ascending, separated by one space
 * 3 150
 * </pre>
 * Replaced (temporary file, rename; not forced to disk) on every change, before the change is visible in memory.
 * {@link PartitionLog#open} uses the file only if it agrees with what the newest producer snapshot recorded (the
 * entries below its offset, see {@link ProducerSnapshots}) followed by the epochs of the batch headers after it
 * ({@link #openIfAgrees}); a missing, unreadable or disagreeing file, or a log without a snapshot, makes it rebuild
 * the cache from every batch header, which carries the epoch of the leader that wrote it ({@link #recover}, WARN
 * for a file that disagrees).
 *
 * <p>Threads: the mutators ({@link #assign}, {@link #truncateFromEnd}, {@link #truncateFromStart}, {@link #clear})
 * are {@code synchronized}; {@link PartitionLog} calls them under its append lock, and nobody else should mutate a
 * log's cache. Readers ({@link #entries}, {@link #latestEpoch}, {@link #endOffsetFor}) run on any thread without
 * locks and see an immutable snapshot.
 *
 * <p>Bound: one entry per leader epoch still present in the log; retention ({@link #truncateFromStart}) drops the
 * entries of deleted segments.
 */
public final class LeaderEpochCache {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderEpochCache.class);

    public static final String FILE_NAME = "leader-epoch-checkpoint";
    private static final String VERSION = "0";

    private final Path file;
    /** Immutable, ascending. Written only under this object's monitor, after the file. */
    private volatile List<EpochEntry> entries;

    private LeaderEpochCache(Path file, List<EpochEntry> entries) {
        this.file = file;
        this.entries = List.copyOf(entries);
    }

    /**
     * The cache persisted in {@code file}; empty if the file is missing or garbled (logged). Does not write.
     */
    public static LeaderEpochCache open(Path file) throws IOException {
        return new LeaderEpochCache(file, readFile(file).orElse(List.of()));
    }

    /**
     * The cache of a log being opened. {@code fromLog} are the entries rebuilt from the batch headers (see
     * {@link Rebuilder}). The checkpoint in {@code file}, cut to [logStartOffset, logEndOffset) as Kafka's loader
     * does, is used if it agrees with them; if it is missing, garbled or disagrees (WARN), the rebuilt entries are
     * used. The file is rewritten if it differs from the result.
     *
     * <p>A compacted log's headers below {@code compactedBelow} (its cleaner checkpoint) are not a full record: a
     * clean may have removed every batch of an epoch, or its first ones. There the checkpoint's entries are kept, and
     * the headers give only the epochs that start at or above it (Kafka never rebuilds the cache from headers).
     */
    static LeaderEpochCache recover(Path file, List<EpochEntry> fromLog, long logStartOffset, long logEndOffset,
            long compactedBelow) throws IOException {
        List<EpochEntry> rebuilt = truncatedFromStart(truncatedFromEnd(fromLog, logEndOffset), logStartOffset);
        Optional<List<EpochEntry>> stored = readFile(file);
        if (stored.isPresent() && compactedBelow > logStartOffset) {
            List<EpochEntry> kept = new ArrayList<>();
            for (EpochEntry e : truncatedFromStart(truncatedFromEnd(stored.get(), logEndOffset), logStartOffset)) {
                if (e.startOffset() < compactedBelow) {
                    kept.add(e);
                }
            }
            int lastKept = kept.isEmpty() ? -1 : kept.get(kept.size() - 1).epoch();
            for (EpochEntry e : rebuilt) {
                if (e.startOffset() >= compactedBelow && e.epoch() > lastKept) {
                    kept.add(e);
                }
            }
            rebuilt = kept;
        }
        List<EpochEntry> result = rebuilt;
        if (stored.isPresent()) {
            List<EpochEntry> checkpoint = truncatedFromStart(truncatedFromEnd(stored.get(), logEndOffset),
                    logStartOffset);
            if (!checkpoint.equals(rebuilt)) {
                LOG.warn("Leader epoch checkpoint disagrees with the batch headers; using the batch headers dir={} "
                        + "checkpoint={} rebuilt={}", file.getParent(), checkpoint, rebuilt);
            }
        } else if (!rebuilt.isEmpty()) {
            LOG.info("Rebuilt leader epoch cache from batch headers dir={} entries={}", file.getParent(), rebuilt);
        }
        LeaderEpochCache cache = new LeaderEpochCache(file, result);
        // No file reads as no entries: a new log does not write (and fsync) an empty one.
        if (stored.isEmpty() ? !result.isEmpty() : !stored.get().equals(result)) {
            cache.persist(result);
        }
        return cache;
    }

    /**
     * The cache of a log being opened, from its checkpoint, if the checkpoint agrees with {@code expected}: the
     * entries a snapshot recorded followed by those of the batch headers after it. Both are cut to
     * [logStartOffset, logEndOffset) first, as in {@link #recover}. The file is rewritten if the cut changed it.
     *
     * @return empty if the file is missing, garbled or disagrees: the caller then rebuilds from every batch header
     */
    static Optional<LeaderEpochCache> openIfAgrees(Path file, List<EpochEntry> expected, long logStartOffset,
                                                   long logEndOffset) throws IOException {
        Optional<List<EpochEntry>> stored = readFile(file);
        if (stored.isEmpty()) {
            return Optional.empty();
        }
        List<EpochEntry> checkpoint = truncatedFromStart(truncatedFromEnd(stored.get(), logEndOffset),
                logStartOffset);
        if (!checkpoint.equals(truncatedFromStart(truncatedFromEnd(expected, logEndOffset), logStartOffset))) {
            LOG.info("Leader epoch checkpoint disagrees with the producer snapshot and the batch headers after it; "
                    + "rebuilding it from every batch header dir={} checkpoint={} expected={}", file.getParent(),
                    checkpoint, expected);
            return Optional.empty();
        }
        LeaderEpochCache cache = new LeaderEpochCache(file, checkpoint);
        if (!stored.get().equals(checkpoint)) {
            cache.persist(checkpoint);
        }
        return Optional.of(cache);
    }

    // ---------------------------------------------------------------- reads (any thread)

    /** The entries, ascending in epoch and start offset. Immutable snapshot. */
    public List<EpochEntry> entries() {
        return entries;
    }

    public OptionalInt latestEpoch() {
        List<EpochEntry> snapshot = entries;
        return snapshot.isEmpty() ? OptionalInt.empty() : OptionalInt.of(snapshot.get(snapshot.size() - 1).epoch());
    }

    public Optional<EpochEntry> latestEntry() {
        List<EpochEntry> snapshot = entries;
        return snapshot.isEmpty() ? Optional.empty() : Optional.of(snapshot.get(snapshot.size() - 1));
    }

    /**
     * Where {@code requestedEpoch} ended, as Kafka's {@code LeaderEpochFileCache.endOffsetFor}:
     * <ul>
     * <li>{@code requestedEpoch} is the latest epoch: (latest, {@code logEndOffset});
     * <li>an epoch exists above it and one at or below it: (largest epoch at or below it, start offset of the
     *     smallest epoch above it);
     * <li>only epochs above it (it is older than the first entry, e.g. retention removed its records):
     *     ({@code requestedEpoch}, start offset of the first entry), so that the follower truncates to at most the
     *     leader's earliest known offset. (Kafka's javadoc still says UNDEFINED here; its code, since 2.0, answers
     *     this. We follow the code.)
     * <li>no epoch above it (empty cache, or newer than the latest), or {@code requestedEpoch} is
     *     {@link EpochEndOffset#UNDEFINED_EPOCH}: {@link EpochEndOffset#UNDEFINED}.
     * </ul>
     */
    public EpochEndOffset endOffsetFor(int requestedEpoch, long logEndOffset) {
        List<EpochEntry> snapshot = entries;
        if (requestedEpoch == EpochEndOffset.UNDEFINED_EPOCH || snapshot.isEmpty()) {
            return EpochEndOffset.UNDEFINED;
        }
        if (snapshot.get(snapshot.size() - 1).epoch() == requestedEpoch) {
            return new EpochEndOffset(requestedEpoch, logEndOffset);
        }
        EpochEntry floor = null;
        for (EpochEntry entry : snapshot) {
            if (entry.epoch() > requestedEpoch) {
                return floor == null ? new EpochEndOffset(requestedEpoch, entry.startOffset())
                        : new EpochEndOffset(floor.epoch(), entry.startOffset());
            }
            floor = entry;
        }
        return EpochEndOffset.UNDEFINED; // newer than the latest epoch
    }

    // ---------------------------------------------------------------- changes (PartitionLog's append lock)

    /**
     * Records that {@code epoch} starts at {@code startOffset}, as Kafka's {@code assign}: nothing happens if
     * {@code epoch} is the latest epoch and {@code startOffset} is not below its start. Otherwise every entry at
     * the end whose epoch is >= {@code epoch} or whose start offset is >= {@code startOffset} is removed (WARN if
     * that removes more than an empty latest epoch), the entry is added, and the file is rewritten.
     *
     * @throws IllegalArgumentException if {@code epoch} or {@code startOffset} is negative
     */
    public synchronized void assign(int epoch, long startOffset) throws IOException {
        EpochEntry entry = new EpochEntry(epoch, startOffset);
        List<EpochEntry> current = entries;
        if (!current.isEmpty()) {
            EpochEntry latest = current.get(current.size() - 1);
            if (latest.epoch() == epoch && latest.startOffset() <= startOffset) {
                return;
            }
        }
        List<EpochEntry> next = assigned(current, entry);
        int removed = current.size() + 1 - next.size();
        if (removed > 1 || (removed == 1 && current.get(current.size() - 1).startOffset() != startOffset)) {
            LOG.warn("New leader epoch entry caused removal of conflicting entries dir={} entry={} before={} after={}",
                    file.getParent(), entry, current, next);
        }
        persist(next);
        LOG.debug("Assigned leader epoch dir={} entry={} entries={}", file.getParent(), entry, next.size());
    }

    /** Removes the entries whose start offset is >= {@code endOffset} (the log was truncated to it). */
    public synchronized void truncateFromEnd(long endOffset) throws IOException {
        if (endOffset < 0) {
            throw new IllegalArgumentException("endOffset must be >= 0, got " + endOffset);
        }
        List<EpochEntry> next = truncatedFromEnd(entries, endOffset);
        if (next.size() != entries.size()) {
            LOG.debug("Truncated leader epoch cache from end dir={} endOffset={} entries={}", file.getParent(),
                    endOffset, next);
            persist(next);
        }
    }

    /**
     * The log start offset moved to {@code startOffset}: the entry covering it (largest start offset <=
     * {@code startOffset}) now starts at {@code startOffset}, and the entries before it are removed (Kafka's
     * {@code truncateFromStart}).
     */
    public synchronized void truncateFromStart(long startOffset) throws IOException {
        if (startOffset < 0) {
            throw new IllegalArgumentException("startOffset must be >= 0, got " + startOffset);
        }
        List<EpochEntry> next = truncatedFromStart(entries, startOffset);
        if (!next.equals(entries)) {
            LOG.debug("Truncated leader epoch cache from start dir={} startOffset={} entries={}", file.getParent(),
                    startOffset, next);
            persist(next);
        }
    }

    /** Removes every entry (the log was emptied and restarted). */
    public synchronized void clear() throws IOException {
        persist(List.of());
    }

    /**
     * Writes the file, then publishes {@code next}: a failed write leaves memory as it was. Not forced to disk (as
     * Kafka since KAFKA-15046): on open, {@link #recover} rebuilds the entries from the batch headers and uses them
     * whenever the file is missing, unreadable or disagrees, so an fsync here bought nothing, and cost two per
     * partition on every leader change (seconds for a node taking over thousands of partitions).
     */
    private void persist(List<EpochEntry> next) throws IOException {
        DiskIo.replaceUnforced(file, ByteBuffer.wrap(encode(next).getBytes(StandardCharsets.UTF_8)));
        entries = List.copyOf(next);
    }

    // ---------------------------------------------------------------- pure rules (shared with recovery)

    static List<EpochEntry> assigned(List<EpochEntry> entries, EpochEntry entry) {
        List<EpochEntry> out = new ArrayList<>(entries);
        while (!out.isEmpty()) {
            EpochEntry last = out.get(out.size() - 1);
            if (last.epoch() < entry.epoch() && last.startOffset() < entry.startOffset()) {
                break;
            }
            out.remove(out.size() - 1);
        }
        out.add(entry);
        return out;
    }

    static List<EpochEntry> truncatedFromEnd(List<EpochEntry> entries, long endOffset) {
        int keep = entries.size();
        while (keep > 0 && entries.get(keep - 1).startOffset() >= endOffset) {
            keep--;
        }
        return List.copyOf(entries.subList(0, keep));
    }

    static List<EpochEntry> truncatedFromStart(List<EpochEntry> entries, long startOffset) {
        int covering = -1;
        while (covering + 1 < entries.size() && entries.get(covering + 1).startOffset() <= startOffset) {
            covering++;
        }
        if (covering < 0) {
            return List.copyOf(entries);
        }
        List<EpochEntry> out = new ArrayList<>(entries.size() - covering);
        out.add(new EpochEntry(entries.get(covering).epoch(), startOffset));
        out.addAll(entries.subList(covering + 1, entries.size()));
        return List.copyOf(out);
    }

    static String encode(List<EpochEntry> entries) {
        StringBuilder text = new StringBuilder().append(VERSION).append('\n').append(entries.size()).append('\n');
        for (EpochEntry entry : entries) {
            text.append(entry.epoch()).append(' ').append(entry.startOffset()).append('\n');
        }
        return text.toString();
    }

    /** The entries in {@code lines}, or empty if they are not a well-formed, strictly ascending checkpoint. */
    static Optional<List<EpochEntry>> decode(List<String> lines) {
        if (lines.size() < 2 || !VERSION.equals(lines.get(0).trim())) {
            return Optional.empty();
        }
        try {
            int count = Integer.parseInt(lines.get(1).trim());
            if (count < 0 || lines.size() != 2 + count) {
                return Optional.empty();
            }
            List<EpochEntry> out = new ArrayList<>(count);
            for (String line : lines.subList(2, lines.size())) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length != 2) {
                    return Optional.empty();
                }
                EpochEntry entry = new EpochEntry(Integer.parseInt(fields[0]), Long.parseLong(fields[1]));
                if (!out.isEmpty() && (out.get(out.size() - 1).epoch() >= entry.epoch()
                        || out.get(out.size() - 1).startOffset() >= entry.startOffset())) {
                    return Optional.empty();
                }
                out.add(entry);
            }
            return Optional.of(List.copyOf(out));
        } catch (IllegalArgumentException e) { // NumberFormatException, or a negative value in EpochEntry
            return Optional.empty();
        }
    }

    /** The entries in {@code file}; empty if it is missing, or garbled (WARN). */
    static Optional<List<EpochEntry>> readFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Optional<List<EpochEntry>> decoded;
        try {
            decoded = decode(Files.readAllLines(file, StandardCharsets.UTF_8));
        } catch (CharacterCodingException e) {
            decoded = Optional.empty();
        }
        if (decoded.isEmpty()) {
            LOG.warn("Ignoring malformed leader epoch checkpoint file={} bytes={}", file, Files.size(file));
        }
        return decoded;
    }

    /**
     * Derives the entries from batch headers in log order, with the rule the appends use: a batch whose partition
     * leader epoch is above the latest one starts a new entry at its base offset; batches without an epoch (-1) or
     * with an older one add nothing. Single-threaded (the opening thread).
     */
    static final class Rebuilder {
        private final List<EpochEntry> entries;

        /** Starts from no entry: the first header of the log comes next. */
        Rebuilder() {
            this(List.of());
        }

        /** Continues after {@code seed}, the entries of the headers before the next one (a snapshot's). */
        Rebuilder(List<EpochEntry> seed) {
            entries = new ArrayList<>(seed);
        }

        void accept(RecordBatchHeader header) {
            int epoch = header.partitionLeaderEpoch();
            if (epoch >= 0 && (entries.isEmpty() || epoch > entries.get(entries.size() - 1).epoch())) {
                entries.add(new EpochEntry(epoch, header.baseOffset()));
            }
        }

        List<EpochEntry> entries() {
            return List.copyOf(entries);
        }
    }

    @Override
    public String toString() {
        return "LeaderEpochCache(" + entries + ")";
    }
}
