package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13: Kafka Connect in distributed mode (connect-runtime and connect-file from Maven Central, a worker process
 * of its own) on three nodes. The worker creates its internal topics compacted (it refuses to start otherwise), a
 * FileStreamSource connector is created through the REST API and every line of its file arrives, and a restarted
 * worker resumes from the source offsets it committed to the compacted {@code connect-offsets}: every line arrives
 * once, in order.
 */
class ConnectIT {
    private static final String TOPIC = "connect-lines";
    private static final String CONNECTOR = "file-source";
    private static final Duration CONNECT_DEADLINE = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3);

    /** Kept when the test fails: the tool's full log is there. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path work;

    @Test
    void fileStreamSourceDeliversEveryLineOnceAcrossAWorkerRestart() throws Exception {
        Clients.createTopic(cluster.bootstrap(), TOPIC, 1, 3);
        int restPort = NodeProcess.freePort();
        Path workerConfig = writeWorkerConfig(restPort);
        Path input = work.resolve("input.txt");
        Files.writeString(input, "");

        try (EcosystemProcess worker = startWorker("connect-1", workerConfig, restPort)) {
            try (Admin admin = Clients.admin(cluster.bootstrap())) {
                for (String internal : List.of("connect-configs", "connect-offsets", "connect-status")) {
                    ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, internal);
                    assertThat(admin.describeConfigs(List.of(topic)).all().get(60, TimeUnit.SECONDS).get(topic)
                            .get("cleanup.policy").value()).as(internal).isEqualTo("compact");
                }
            }
            HttpResponse<String> created = HTTP.send(HttpRequest.newBuilder(rest(restPort, "/connectors"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + CONNECTOR + "\",\"config\":{"
                            + "\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSourceConnector\","
                            + "\"tasks.max\":\"1\",\"file\":\"" + input + "\",\"topic\":\"" + TOPIC + "\"}}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            awaitTaskRunning(worker, restPort);

            append(input, lines(0, 500));
            assertThat(values(500)).isEqualTo(lines(0, 500));
            worker.stop();
        }

        // Lines written while no worker runs are picked up from the committed position, none twice
        append(input, lines(500, 800));
        try (EcosystemProcess worker = startWorker("connect-2", workerConfig, restPort)) {
            awaitTaskRunning(worker, restPort);
            append(input, lines(800, 1_000));
            assertThat(values(1_000)).isEqualTo(lines(0, 1_000));
            assertThat(worker.output()).doesNotContain("] ERROR ");
            worker.stop();
        }
    }

    private Path writeWorkerConfig(int restPort) throws IOException {
        Path file = work.resolve("connect-distributed.properties");
        Files.writeString(file, String.join("\n",
                "bootstrap.servers=" + cluster.bootstrap(),
                "group.id=connect-it",
                "key.converter=org.apache.kafka.connect.storage.StringConverter",
                "value.converter=org.apache.kafka.connect.storage.StringConverter",
                "config.storage.topic=connect-configs",
                "offset.storage.topic=connect-offsets",
                "status.storage.topic=connect-status",
                "config.storage.replication.factor=3",
                "offset.storage.replication.factor=3",
                "status.storage.replication.factor=3",
                "offset.flush.interval.ms=1000",
                "listeners=http://127.0.0.1:" + restPort,
                ""));
        return file;
    }

    private EcosystemProcess startWorker(String name, Path config, int restPort) {
        EcosystemProcess worker = EcosystemProcess.start(name, work,
                "org.apache.kafka.connect.cli.ConnectDistributed", config.toString());
        await(name + " serving its REST API").atMost(CONNECT_DEADLINE).pollInterval(Duration.ofMillis(500))
                .failFast(name + " exited\n" + worker.outputTail(), () -> !worker.isAlive())
                .ignoreExceptions()
                .until(() -> HTTP.send(HttpRequest.newBuilder(rest(restPort, "/connectors")).GET().build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        return worker;
    }

    private static void awaitTaskRunning(EcosystemProcess worker, int restPort) {
        await("connector and task running").atMost(CONNECT_DEADLINE).pollInterval(Duration.ofMillis(500))
                .failFast(worker + " exited\n" + worker.outputTail(), () -> !worker.isAlive())
                .ignoreExceptions()
                .until(() -> {
                    String status = HTTP.send(HttpRequest.newBuilder(
                            rest(restPort, "/connectors/" + CONNECTOR + "/status")).GET().build(),
                            HttpResponse.BodyHandlers.ofString()).body().replace(" ", "");
                    return status.contains("\"connector\":{\"state\":\"RUNNING\"")
                            && status.contains("\"tasks\":[{\"id\":0,\"state\":\"RUNNING\"");
                });
    }

    private static URI rest(int port, String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static List<String> lines(int from, int to) {
        return IntStream.range(from, to).mapToObj(i -> "line-" + i).toList();
    }

    private static void append(Path file, List<String> lines) throws IOException {
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    /** The topic's values from the beginning, once at least {@code expected} arrived (more would be duplicates). */
    private static List<String> values(int expected) {
        List<String> values = new ArrayList<>();
        for (ConsumerRecord<String, String> r : Clients.readFromBeginning(cluster.bootstrap(), TOPIC, 1, expected)) {
            values.add(r.value());
        }
        return values;
    }
}
