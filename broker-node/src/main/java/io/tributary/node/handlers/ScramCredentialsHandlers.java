package io.tributary.node.handlers;

import io.tributary.metadata.MetadataImage;
import io.tributary.proto.metadata.AlterScramCredentialsRequest;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.RemoveUserScramCredentialRecord;
import io.tributary.proto.metadata.UserResult;
import io.tributary.proto.metadata.UserScramCredentialRecord;
import com.google.protobuf.ByteString;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.AlterUserScramCredentialsRequestData;
import org.apache.kafka.common.message.AlterUserScramCredentialsResponseData;
import org.apache.kafka.common.message.DescribeUserScramCredentialsRequestData;
import org.apache.kafka.common.message.DescribeUserScramCredentialsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.security.scram.ScramCredential;
import org.apache.kafka.common.security.scram.internals.ScramFormatter;
import org.apache.kafka.common.security.scram.internals.ScramMechanism;

/**
 * AlterUserScramCredentials v0 and DescribeUserScramCredentials v0 (KIP-554): SCRAM users live in the replicated
 * metadata as salted keys. The client sends the salt and the salted password (never the password); this node
 * derives the stored and server keys, checks what Kafka checks without state (mechanism, 4096..16384 iterations, a
 * non-empty name, a credential altered once per request), and the controller refuses deletions of credentials that
 * do not exist. Errors are per user: one bad alteration fails all of that user's alterations, as in Kafka.
 * Altering needs ALTER on the cluster, describing DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED), as in Kafka.
 */
public final class ScramCredentialsHandlers {

    /** Kafka's bounds (ScramMechanism.minIterations and the broker's maximum). */
    static final int MIN_ITERATIONS = 4096;
    static final int MAX_ITERATIONS = 16384;

    private ScramCredentialsHandlers() {}

    public static List<ApiHandler> all(NodeServices node) {
        return List.of(new Alter(node), new Describe(node));
    }

    /** The credential of {@code user} for {@code mechanism} in {@code image}, or null. */
    public static ScramCredential credential(MetadataImage image, String user, ScramMechanism mechanism) {
        UserScramCredentialRecord r = image.scramCredential(user, mechanismType(mechanism));
        return r == null ? null : new ScramCredential(r.getSalt().toByteArray(), r.getStoredKey().toByteArray(),
                r.getServerKey().toByteArray(), r.getIterations());
    }

    /** Kafka's wire type of a mechanism (org.apache.kafka.clients.admin.ScramMechanism): 1 SHA-256, 2 SHA-512. */
    static int mechanismType(ScramMechanism mechanism) {
        return mechanism == ScramMechanism.SCRAM_SHA_256 ? 1 : 2;
    }

    static ScramMechanism mechanism(int type) {
        return switch (type) {
            case 1 -> ScramMechanism.SCRAM_SHA_256;
            case 2 -> ScramMechanism.SCRAM_SHA_512;
            default -> null;
        };
    }

    static final class Alter implements ApiHandler {
        private final NodeServices node;

        Alter(NodeServices node) {
            this.node = node;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.ALTER_USER_SCRAM_CREDENTIALS;
        }

        @Override
        public short minVersion() {
            return 0;
        }

        @Override
        public short maxVersion() {
            return 0;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            AlterUserScramCredentialsRequestData request = (AlterUserScramCredentialsRequestData) message;
            if (!node.allowedOnCluster(context, AclOperation.ALTER)) {
                Map<String, AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult> denied =
                        new java.util.TreeMap<>();
                request.deletions().forEach(d -> denied.put(d.name(), result(d.name(),
                        Errors.CLUSTER_AUTHORIZATION_FAILED, null)));
                request.upsertions().forEach(u -> denied.put(u.name(), result(u.name(),
                        Errors.CLUSTER_AUTHORIZATION_FAILED, null)));
                return CompletableFuture.completedFuture(response(denied));
            }
            // The first error of each user, in the order users are first named.
            Map<String, AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult> results =
                    new LinkedHashMap<>();
            Map<String, Integer> seen = new HashMap<>();
            Set<String> failed = new HashSet<>();
            List<String> keys = new ArrayList<>();
            request.deletions().forEach(d -> keys.add(d.name() + "\u0000" + d.mechanism()));
            request.upsertions().forEach(u -> keys.add(u.name() + "\u0000" + u.mechanism()));
            keys.forEach(k -> seen.merge(k, 1, Integer::sum));
            AlterScramCredentialsRequest.Builder toController = AlterScramCredentialsRequest.newBuilder();
            for (AlterUserScramCredentialsRequestData.ScramCredentialDeletion d : request.deletions()) {
                results.putIfAbsent(d.name(), result(d.name(), Errors.NONE, null));
                String problem = problem(d.name(), d.mechanism(), null, seen);
                if (problem != null) {
                    fail(results, failed, d.name(), problem);
                } else {
                    toController.addDeletions(RemoveUserScramCredentialRecord.newBuilder().setName(d.name())
                            .setMechanism(d.mechanism()));
                }
            }
            for (AlterUserScramCredentialsRequestData.ScramCredentialUpsertion u : request.upsertions()) {
                results.putIfAbsent(u.name(), result(u.name(), Errors.NONE, null));
                String problem = problem(u.name(), u.mechanism(), u.iterations(), seen);
                if (problem != null) {
                    fail(results, failed, u.name(), problem);
                    continue;
                }
                try {
                    ScramFormatter formatter = new ScramFormatter(mechanism(u.mechanism()));
                    byte[] salted = u.saltedPassword();
                    toController.addUpsertions(UserScramCredentialRecord.newBuilder().setName(u.name())
                            .setMechanism(u.mechanism())
                            .setSalt(ByteString.copyFrom(u.salt()))
                            .setStoredKey(ByteString.copyFrom(formatter.storedKey(formatter.clientKey(salted))))
                            .setServerKey(ByteString.copyFrom(formatter.serverKey(salted)))
                            .setIterations(u.iterations()));
                } catch (GeneralSecurityException | RuntimeException e) {
                    // An empty or malformed salted password fails this user only, as in Kafka.
                    fail(results, failed, u.name(), "cannot derive the keys: " + e.getMessage());
                }
            }
            // A user with any refused alteration keeps all of its credentials as they are.
            AlterScramCredentialsRequest.Builder valid = AlterScramCredentialsRequest.newBuilder();
            toController.getDeletionsList().stream().filter(d -> !failed.contains(d.getName()))
                    .forEach(valid::addDeletions);
            toController.getUpsertionsList().stream().filter(u -> !failed.contains(u.getName()))
                    .forEach(valid::addUpsertions);
            if (valid.getDeletionsCount() == 0 && valid.getUpsertionsCount() == 0) {
                return CompletableFuture.completedFuture(response(results));
            }
            return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setAlterScramCredentials(valid)
                    .build())
                    .handle((answer, error) -> {
                        for (String user : results.keySet()) {
                            if (failed.contains(user)) {
                                continue;
                            }
                            if (error != null) {
                                results.put(user, result(user, Errors.REQUEST_TIMED_OUT,
                                        "the controller did not answer in time"));
                            } else if (answer.getError() != ControllerErrorCode.NONE) {
                                results.put(user, result(user, TopicCreator.error(answer),
                                        answer.getErrorMessage()));
                            }
                        }
                        if (error == null) {
                            for (UserResult r : answer.getAlterScramCredentials().getResultsList()) {
                                if (r.getError() != ControllerErrorCode.NONE) {
                                    results.put(r.getUser(), result(r.getUser(), TopicCreator.error(r.getError()),
                                            r.getErrorMessage()));
                                }
                            }
                        }
                        return response(results);
                    });
        }

        /** What Kafka refuses before it asks the controller, or null. */
        private static String problem(String name, byte mechanism, Integer iterations, Map<String, Integer> seen) {
            if (name == null || name.isEmpty()) {
                return "Username must not be empty";
            }
            if (mechanism(mechanism) == null) {
                return "Unknown SCRAM mechanism";
            }
            if (seen.get(name + "\u0000" + mechanism) > 1) {
                return "A user credential cannot be altered twice in the same request";
            }
            if (iterations != null && iterations < MIN_ITERATIONS) {
                return "Too few iterations";
            }
            if (iterations != null && iterations > MAX_ITERATIONS) {
                return "Too many iterations";
            }
            return null;
        }

        private static void fail(Map<String, AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult>
                results, Set<String> failed, String user, String problem) {
            if (failed.add(user)) {
                Errors error = problem.startsWith("Unknown") ? Errors.UNSUPPORTED_SASL_MECHANISM
                        : problem.startsWith("A user credential") ? Errors.DUPLICATE_RESOURCE
                        : Errors.UNACCEPTABLE_CREDENTIAL;
                results.put(user, result(user, error, problem));
            }
        }

        private static AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult result(String user,
                Errors error, String message) {
            return new AlterUserScramCredentialsResponseData.AlterUserScramCredentialsResult().setUser(user)
                    .setErrorCode(error.code()).setErrorMessage(message);
        }

        private static ApiMessage response(Map<String, AlterUserScramCredentialsResponseData
                .AlterUserScramCredentialsResult> results) {
            return new AlterUserScramCredentialsResponseData().setResults(new ArrayList<>(results.values()));
        }
    }

    static final class Describe implements ApiHandler {
        private final NodeServices node;

        Describe(NodeServices node) {
            this.node = node;
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DESCRIBE_USER_SCRAM_CREDENTIALS;
        }

        @Override
        public short minVersion() {
            return 0;
        }

        @Override
        public short maxVersion() {
            return 0;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            DescribeUserScramCredentialsRequestData request = (DescribeUserScramCredentialsRequestData) message;
            if (!node.allowedOnCluster(context, AclOperation.DESCRIBE)) {
                // Kafka: the top-level error, and the same error for each user asked about (name left unset)
                List<DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult> denied =
                        new ArrayList<>();
                if (request.users() != null) {
                    request.users().forEach(u -> denied.add(
                            new DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult()
                                    .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code())));
                }
                return CompletableFuture.completedFuture(new DescribeUserScramCredentialsResponseData()
                        .setErrorCode(Errors.CLUSTER_AUTHORIZATION_FAILED.code()).setResults(denied));
            }
            MetadataImage image = node.metadata().image();
            List<DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult> results =
                    new ArrayList<>();
            if (request.users() == null || request.users().isEmpty()) {
                image.scramCredentials().forEach((user, byMechanism) -> results.add(describe(user, byMechanism)));
            } else {
                Map<String, Integer> counts = new HashMap<>();
                request.users().forEach(u -> counts.merge(u.name(), 1, Integer::sum));
                Set<String> answered = new HashSet<>();
                for (DescribeUserScramCredentialsRequestData.UserName u : request.users()) {
                    if (!answered.add(u.name())) {
                        continue;
                    }
                    Map<Integer, UserScramCredentialRecord> byMechanism = image.scramCredentials().get(u.name());
                    if (counts.get(u.name()) > 1) {
                        results.add(failed(u.name(), Errors.DUPLICATE_RESOURCE,
                                "Cannot describe SCRAM credentials for the same user twice in a single request: "
                                        + u.name()));
                    } else if (byMechanism == null) {
                        results.add(failed(u.name(), Errors.RESOURCE_NOT_FOUND,
                                "Attempt to describe a user credential that does not exist: " + u.name()));
                    } else {
                        results.add(describe(u.name(), byMechanism));
                    }
                }
            }
            return CompletableFuture.completedFuture(new DescribeUserScramCredentialsResponseData()
                    .setResults(results));
        }

        private static DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult describe(
                String user, Map<Integer, UserScramCredentialRecord> byMechanism) {
            List<DescribeUserScramCredentialsResponseData.CredentialInfo> infos = new ArrayList<>();
            byMechanism.forEach((type, r) -> infos.add(new DescribeUserScramCredentialsResponseData.CredentialInfo()
                    .setMechanism(type.byteValue()).setIterations(r.getIterations())));
            return new DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult().setUser(user)
                    .setCredentialInfos(infos);
        }

        private static DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult failed(
                String user, Errors error, String message) {
            return new DescribeUserScramCredentialsResponseData.DescribeUserScramCredentialsResult().setUser(user)
                    .setErrorCode(error.code()).setErrorMessage(message);
        }
    }
}
