package io.tributary.metadata;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * A broker's line to the active controller, whatever node it is on: a Ratis client of the metadata group that
 * sends {@link ControllerRequest}s as read-only queries. Ratis delivers them to the quorum leader (following
 * not-leader redirects); a leader that is not ready yet answers NOT_CONTROLLER, and this client asks again after a
 * short pause until {@code deadlineMs} has passed.
 *
 * <p>A leader that stopped answering without closing its connections (a paused or cut-off process) holds a
 * request until Ratis' request timeout, and everything queued behind it on the ordered client. So each attempt
 * also ends after {@code attemptTimeoutMs}, and the next goes elsewhere: to the leader this node's own Raft server
 * knows now (voters), else to the next voter. Every attempt also starts at the local server's leader when that
 * differs from the client's. Without this, brokers kept heartbeating a paused controller node for 5 s, the new
 * controller heard from nobody within the 3 s session, and fenced every broker, itself included (harness, pause
 * and partition nemeses). Retried requests are safe: changes carry a request id the controller de-duplicates.
 *
 * <p>Threads: any; retries are scheduled on one daemon thread.
 */
public final class QuorumClient implements ControllerChannel, Closeable {

    private static final long RETRY_BACKOFF_MS = 100;

    /** Per request Ratis retries at most this often; this class retries on until the caller's deadline. */
    private static final int RATIS_ATTEMPTS = 5;

    private final RaftClientHolder client;
    private final List<RaftPeerId> voters;
    private final long deadlineMs;
    private final long attemptTimeoutMs;
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "controller-client-retry");
        t.setDaemon(true);
        return t;
    });

    public QuorumClient(QuorumConfig config, long deadlineMs) {
        this(config, deadlineMs, deadlineMs);
    }

    /**
     * @param deadlineMs how long a request is retried in all
     * @param attemptTimeoutMs how long one attempt waits for the node it was sent to before the next goes elsewhere
     */
    public QuorumClient(QuorumConfig config, long deadlineMs, long attemptTimeoutMs) {
        if (attemptTimeoutMs <= 0 || deadlineMs <= 0) {
            throw new IllegalArgumentException("deadline " + deadlineMs + " ms, attempt timeout " + attemptTimeoutMs
                    + " ms: both must be positive");
        }
        this.deadlineMs = deadlineMs;
        this.attemptTimeoutMs = attemptTimeoutMs;
        this.voters = config.voters().keySet().stream().sorted().map(RatisSupport::peerId).toList();
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
        RaftClient sent = client.atLocalLeader();
        RaftPeerId target = sent.getLeaderId();
        long attemptMs = Math.min(remainingMs, attemptTimeoutMs);
        sent.async().sendReadOnly(Message.valueOf(ByteString.copyFrom(request.toByteArray())))
                .orTimeout(attemptMs, TimeUnit.MILLISECONDS)
                // Off the JDK's one timeout thread (orTimeout completes there) and off gRPC's threads.
                .whenCompleteAsync((reply, error) -> {
                    if (error instanceof TimeoutException) {
                        if (deadlineNs - System.nanoTime() > 0) {
                            RaftPeerId next = nextTarget(target);
                            client.retarget(sent, next, target + " did not answer within " + attemptMs + " ms");
                        }
                    } else if (error != null) {
                        client.replace(sent, error);
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
                }, retries);
    }

    /** Where to send after {@code silent} did not answer: the local server's leader if another, else the next voter. */
    private RaftPeerId nextTarget(RaftPeerId silent) {
        RaftPeerId local = client.localLeader();
        if (local != null && !local.equals(silent)) {
            return local;
        }
        int at = voters.indexOf(silent);
        return voters.get((at + 1) % voters.size());
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
