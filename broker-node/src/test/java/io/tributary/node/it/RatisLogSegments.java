package io.tributary.node.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Ratis log segments a voter keeps on disk, read from their file names: Ratis names a closed segment
 * {@code log_<first index>-<last index>} and the open one {@code log_inprogress_<first index>}, in
 * {@code <storage dir>/<group id>/current/}. Tests use it to see that a voter purged its log up to a snapshot.
 */
final class RatisLogSegments {
    private static final Pattern CLOSED = Pattern.compile("log_(\\d+)-(\\d+)");
    private static final Pattern OPEN = Pattern.compile("log_inprogress_(\\d+)(?:\\..*)?");

    private RatisLogSegments() {}

    /** The first index of every segment file under {@code dir} (searched recursively), in no particular order. */
    static List<Long> firstIndexes(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile)
                    .map(path -> path.getFileName().toString())
                    .map(RatisLogSegments::firstIndex)
                    .flatMap(index -> index.isPresent() ? Stream.of(index.getAsLong()) : Stream.empty())
                    .toList();
        } catch (NoSuchFileException | UncheckedIOException racingWithRatis) {
            // Ratis renamed or deleted a segment while we walked: report nothing, the caller polls again.
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The lowest log index still on disk under {@code dir}, if any segment is there. */
    static OptionalLong oldestIndex(Path dir) {
        return firstIndexes(dir).stream().mapToLong(Long::longValue).min();
    }

    /** The first index of the newest segment under {@code dir}, if any. */
    static OptionalLong newestSegmentStart(Path dir) {
        return firstIndexes(dir).stream().mapToLong(Long::longValue).max();
    }

    private static OptionalLong firstIndex(String fileName) {
        Matcher closed = CLOSED.matcher(fileName);
        if (closed.matches()) {
            return OptionalLong.of(Long.parseLong(closed.group(1)));
        }
        Matcher open = OPEN.matcher(fileName);
        if (open.matches()) {
            return OptionalLong.of(Long.parseLong(open.group(1)));
        }
        return OptionalLong.empty();
    }
}
