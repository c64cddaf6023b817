package io.tributary.node.tools;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

/**
 * Adds (or replaces) one SCRAM user through a cluster's Kafka port, as {@code kafka-configs --alter --add-config
 * 'SCRAM-SHA-512=[password=...]' --entity-type users} does, for {@code deploy/cluster.sh up --secure}, which has no
 * Kafka tools at hand: it creates the first SCRAM user by logging in with the listener's bootstrap PLAIN user.
 *
 * <pre>java -cp ... io.tributary.node.tools.AddScramUser CLIENT_CONFIG USER PASSWORD_FILE [SCRAM-SHA-256|SCRAM-SHA-512]</pre>
 *
 * Retries for up to a minute (a cluster that has just started may not have a controller yet); exits 0 once the
 * credential is committed, 1 otherwise, 2 on bad arguments.
 */
public final class AddScramUser {

    private AddScramUser() {}

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: AddScramUser CLIENT_CONFIG USER PASSWORD_FILE [SCRAM-SHA-256|SCRAM-SHA-512]");
            System.exit(2);
        }
        Properties config = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of(args[0]), StandardCharsets.UTF_8)) {
            config.load(in);
        }
        String user = args[1];
        String password = Files.readString(Path.of(args[2]), StandardCharsets.UTF_8).trim();
        ScramMechanism mechanism = args.length == 4 ? ScramMechanism.fromMechanismName(args[3])
                : ScramMechanism.SCRAM_SHA_512;
        if (mechanism == ScramMechanism.UNKNOWN) {
            System.err.println("unknown SCRAM mechanism " + args[3]);
            System.exit(2);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Exception last = null;
        try (Admin admin = Admin.create(config)) {
            while (System.nanoTime() < deadline) {
                try {
                    admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(user,
                            new ScramCredentialInfo(mechanism, 8192), password))).all().get(30, TimeUnit.SECONDS);
                    System.err.println("SCRAM user " + user + " (" + mechanism.mechanismName() + ") added");
                    return;
                } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
                    last = e;
                    Thread.sleep(1_000);
                }
            }
        }
        System.err.println("could not add SCRAM user " + user + ": " + last);
        System.exit(1);
    }
}
