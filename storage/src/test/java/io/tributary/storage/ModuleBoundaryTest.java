package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/** Import rules of the module, checked on the sources (as Kafka's import-control files do). */
class ModuleBoundaryTest {
    private static final Path MAIN = Path.of("src/main/java");

    @Test
    void onlyTheAdapterImportsKafkaRecordClassesAndNothingUsesKafkaErrors() throws IOException {
        List<Path> sources;
        try (Stream<Path> files = Files.walk(MAIN)) {
            sources = files.filter(f -> f.toString().endsWith(".java")).toList();
        }
        assertThat(sources).isNotEmpty();
        for (Path source : sources) {
            String text = Files.readString(source);
            if (!source.endsWith(Path.of("internal", "KafkaRecords.java"))) {
                assertThat(text).as(source.toString()).doesNotContain("org.apache.kafka.common.record");
            }
            assertThat(text).as(source.toString()).doesNotContain("org.apache.kafka.common.protocol");
        }
    }
}
