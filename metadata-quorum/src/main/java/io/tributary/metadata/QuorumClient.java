package io.tributary.metadata;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import java.io.Closeable;
import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * A broker's line to the active controller, whatever node it is on: a Ratis client of the metadata group that
 * sends {@link ControllerRequest}s as read-only queries. Ratis delivers them to the quorum leader (following
 * not-leader redirects); a leader that is not ready yet answers NOT_CONTROLLER, and this client asks again after a
 * short pause until {@code deadlineMs} has passed.
 *
 * <p>Threads: any; retries are scheduled on one daemon thread.
 */
public final class QuorumClient implements ControllerChannel, Closeable {

    private static final long RETRY_BACKOFF_MS = 100;

    /** Per request Ratis retries at most this often; this class retries on until the caller's deadline. */
    private static final int RATIS_ATTEMPTS = 5;

    private final RaftClientHolder client;
    private final long deadlineMs;
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "controller-client-retry");
        t.setDaemon(true);
        return t;
    });

    public QuorumClient(QuorumConfig config, long deadlineMs) {
        this.deadlineMs = deadlineMs;
        // Bounded Ratis retries: a request that can never complete must end and give its outstanding-request
        // permit back (a retry-forever request abandoned by orTimeout held it for good and wedged the client).
        this.client = new RaftClientHolder("controller client", leader -> RatisSupport.client(config, leader,
                RetryPolicies.retryUpToMaximumCountWithFixedSleep(RATIS_ATTEMPTS, RatisSupport.ms(RETRY_BACKOFF_MS))));
    }

    @Override
    public CompletableFuture<ControllerResponse> send(ControllerRequest request) {
        CompletableFuture<ControllerResponse> result = new CompletableFuture<>();
        if (request.getRequestId().isEmpty() && !request.hasHeartbeat() && !request.hasFetchMetadata()) {
            // Read-only queries are not de-duplicated by Ratis, and this client retries: one id for every attempt
            // lets the controller answer a retry of a change it already made (or is making) instead of making it
            // twice (a CreateTopics re-sent after a timeout answered "already exists").
            request = request.toBuilder().setRequestId(UUID.randomUUID().toString()).build();
        }
        attempt(request, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs), result);
        return result;
    }

    private void attempt(ControllerRequest request, long deadlineNs, CompletableFuture<ControllerResponse> result) {
        long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
        if (remainingMs <= 0) {
            result.completeExceptionally(new TimeoutException("no active controller answered within "
                    + deadlineMs + " ms"));
            return;
        }
        RaftClient current = client.get();
        current.async().sendReadOnly(Message.valueOf(ByteString.copyFrom(request.toByteArray())))
                .orTimeout(remainingMs, TimeUnit.MILLISECONDS)
                .whenComplete((reply, error) -> {
                    if (error != null && !(error instanceof TimeoutException)) {
                        client.replace(current, error);
                    }
                    ControllerResponse response = null;
                    if (error == null && reply.isSuccess()) {
                        client.noteLeader(reply.getServerId());
                        try {
                            response = ControllerResponse.parseFrom(reply.getMessage().getContent().toByteArray());
                        } catch (IOException e) {
                            result.completeExceptionally(e);
                            return;
                        }
                    }
                    if (response != null && response.getError() != ControllerErrorCode.NOT_CONTROLLER) {
                        result.complete(response);
                    } else {
                        retries.schedule(() -> attempt(request, deadlineNs, result), RETRY_BACKOFF_MS,
                                TimeUnit.MILLISECONDS);
                    }
                });
    }

    /** On a voter: new Ratis clients start at the leader this node's own Raft server knows. */
    public void useLocalLeaderView(RatisMetadataStore store) {
        client.setLocalLeaderView(store::leaderPeerId);
    }

    @Override
    public void close() throws IOException {
        retries.shutdownNow();
        client.close();
    }
}
