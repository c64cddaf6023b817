package io.tributary.metadata;

import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.MetadataBatch;
import io.tributary.proto.metadata.MetadataRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A voter's metadata store: a Ratis server of the metadata quorum (gRPC transport, storage under the node's data
 * dir, snapshots with log purging) and the state machine that holds the image. {@link #commit} is used by the
 * active controller, which runs on the Ratis leader, to append batches through the quorum.
 *
 * <p>Lifecycle: {@link #start} binds the Ratis port and joins the group (recovering its storage, or formatting a
 * new one); {@link #close} leaves. Threads: Ratis' own; commit may be called from any thread.
 */
public final class RatisMetadataStore implements MetadataStore {

    private static final Logger log = LoggerFactory.getLogger(RatisMetadataStore.class);
    /** Waits between a leader's attempts to reach an unreachable voter: 1 ms 10 times, 100 ms 20 times, then 250 ms. */
    static final String APPENDER_RETRY_POLICY = "1ms,10, 100ms,20, 250ms,2000000000";

    private final int nodeId;
    private final RaftServer server;
    private final MetadataStateMachine stateMachine;
    private final PeerReconnector reconnector;
    /** Names this voter's controller as the client of its own commits (Ratis' retry cache keys on it). */
    private final ClientId writer = ClientId.randomId();
    private final AtomicLong writeCallIds = new AtomicLong();

    private RatisMetadataStore(int nodeId, RaftServer server, MetadataStateMachine stateMachine,
            PeerReconnector reconnector) {
        this.nodeId = nodeId;
        this.server = server;
        this.stateMachine = stateMachine;
        this.reconnector = reconnector;
    }

    /**
     * Starts this node's voter.
     *
     * @throws IOException if Ratis cannot start, for example on a corrupt metadata snapshot (the node must not run)
     */
    public static RatisMetadataStore start(int nodeId, QuorumConfig config) throws IOException {
        return start(nodeId, config, new MetadataStateMachine(nodeId));
    }

    /** As {@link #start(int, QuorumConfig)}, on a given state machine: tests watch it while the server starts. */
    static RatisMetadataStore start(int nodeId, QuorumConfig config, MetadataStateMachine stateMachine)
            throws IOException {
        if (!config.isVoter(nodeId)) {
            throw new IllegalArgumentException("node " + nodeId + " is not a voter of " + config.voters());
        }
        Files.createDirectories(config.storageDir());
        RaftProperties properties = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(properties, List.of(config.storageDir().toFile()));
        GrpcConfigKeys.Server.setPort(properties, config.voters().get(nodeId).getPort());
        RaftServerConfigKeys.Rpc.setTimeoutMin(properties, RatisSupport.ms(config.electionTimeoutMinMs()));
        RaftServerConfigKeys.Rpc.setTimeoutMax(properties, RatisSupport.ms(config.electionTimeoutMaxMs()));
        // A leader that lost its majority (the other voters unreachable) steps down and, by Ratis' default, waits
        // 10 s before it may stand again. When the voter it lost comes back with a shorter log, only this one can
        // win, so the quorum stayed without a leader for those 10 s (harness, kill seed 2: 10.5 s). Pre-vote already
        // keeps a cut-off voter from disrupting the others; one election timeout is enough. The same value is Ratis'
        // JVM-pause threshold: a leader whose JVM stood still longer than that steps down (it may be replaced).
        RaftServerConfigKeys.LeaderElection.setLeaderStepDownWaitTime(properties,
                RatisSupport.ms(config.electionTimeoutMinMs()));
        RaftServerConfigKeys.Rpc.setRequestTimeout(properties, RatisSupport.ms(config.requestTimeoutMs()));
        RaftServerConfigKeys.Rpc.setSlownessTimeout(properties, RatisSupport.ms(config.requestTimeoutMs() * 10));
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties, config.snapshotIntervalEntries());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(properties, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, true);
        RaftServerConfigKeys.Log.setPurgeGap(properties, (int) Math.min(Integer.MAX_VALUE,
                Math.max(1, config.snapshotIntervalEntries())));
        // Metadata entries are small: small segments let purging delete closed segments behind each snapshot.
        long segmentBytes = config.logSegmentBytes();
        long appenderBytes = Math.max(4096, segmentBytes / 2);
        RaftServerConfigKeys.Log.setSegmentSizeMax(properties, SizeInBytes.valueOf(segmentBytes));
        RaftServerConfigKeys.Log.setPreallocatedSize(properties, SizeInBytes.valueOf(Math.min(segmentBytes, 16384)));
        RaftServerConfigKeys.Log.setWriteBufferSize(properties, SizeInBytes.valueOf(appenderBytes * 2));
        RaftServerConfigKeys.Log.Appender.setBufferByteLimit(properties, SizeInBytes.valueOf(appenderBytes));
        RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(properties, true);
        // The leader retries a voter it cannot reach after a short wait, not Ratis' default 5 s after 30 failures:
        // a restarted voter is sent the log (and learns the leader) within ~0.25 s of listening again.
        RaftServerConfigKeys.Log.Appender.setRetryPolicy(properties, APPENDER_RETRY_POLICY);

        RaftGroup group = RatisSupport.group(config.voters());
        var serverBuilder = RaftServer.newBuilder()
                .setServerId(RatisSupport.peerId(nodeId))
                .setGroup(group)
                .setStateMachine(stateMachine)
                .setProperties(properties)
                .setOption(RaftStorage.StartupOption.RECOVER);
        if (config.tls() != null) {
            // Voters accept only peers and clients presenting a certificate of the cluster CA.
            serverBuilder.setParameters(config.tls().ratisParameters());
        }
        RaftServer server = serverBuilder.build();
        // Listeners get images once this voter knows a leader and has applied everything committed: not the stale
        // images of its replay after a restart.
        stateMachine.setCaughtUp(() -> {
            try {
                var division = server.getDivision(RatisSupport.GROUP_ID);
                return division.getInfo().getLeaderId() != null
                        && division.getInfo().getLastAppliedIndex() >= division.getRaftLog().getLastCommittedIndex();
            } catch (IOException | RuntimeException e) {
                return false;
            }
        });
        try {
            // Fails if the state machine cannot load its latest snapshot (MetadataSnapshotFile: a corrupt one).
            server.start();
        } catch (IOException | RuntimeException e) {
            closeAfterFailedStart(nodeId, server, e);
            throw startFailure(e);
        }
        log.info("node={} joined the metadata quorum {} as a voter, storage {}", nodeId, config.voters(),
                config.storageDir());
        PeerReconnector reconnector = new PeerReconnector(server, config.voters().keySet().stream()
                .filter(id -> id != nodeId).map(RatisSupport::peerId).toList());
        reconnector.start();
        RatisMetadataStore store = new RatisMetadataStore(nodeId, server, stateMachine, reconnector);
        List<Integer> voterIds = List.copyOf(config.voters().keySet());
        stateMachine.setDescriber(() -> store.describe(voterIds));
        return store;
    }

    /** Ratis reports a state machine that failed to initialize as a CompletionException; callers get its cause. */
    private static IOException startFailure(Exception e) {
        for (Throwable cause = e; cause != null; cause = cause.getCause()) {
            if (cause instanceof IOException io) {
                return cause == e ? io : new IOException(io.getMessage(), e);
            }
        }
        return new IOException("the metadata quorum server did not start: " + e, e);
    }

    private static void closeAfterFailedStart(int nodeId, RaftServer server, Exception failure) {
        try {
            server.close();
        } catch (IOException | RuntimeException e) {
            failure.addSuppressed(e);
        }
        log.error("node={} could not start its metadata quorum server", nodeId, failure);
    }

    /**
     * Routes controller requests that reach this voter's state machine (as read-only queries) to the controller,
     * and tells it when this node becomes, or stops being, the ready leader.
     */
    public void setController(Function<ControllerRequest, CompletableFuture<ControllerResponse>> handler,
            Runnable leaderReady, Runnable leadershipLost) {
        stateMachine.setController(handler, leaderReady, leadershipLost);
    }

    /** Whether this voter is the Ratis leader and has applied its first entry of the term (Ratis' "ready"). */
    public boolean isLeaderReady() {
        try {
            return server.getDivision(RatisSupport.GROUP_ID).getInfo().isLeaderReady();
        } catch (IOException e) {
            return false;
        }
    }

    /** This voter's current Raft term; -1 if its division cannot be reached (closing). */
    public long currentTerm() {
        try {
            return server.getDivision(RatisSupport.GROUP_ID).getInfo().getCurrentTerm();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The index of the last metadata log entry this voter knows committed; -1 if unavailable. */
    public long commitIndex() {
        try {
            return server.getDivision(RatisSupport.GROUP_ID).getRaftLog().getLastCommittedIndex();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The index of the last metadata log entry this voter applied to its image; -1 if unavailable. */
    public long appliedIndex() {
        try {
            return server.getDivision(RatisSupport.GROUP_ID).getInfo().getLastAppliedIndex();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The retry policy this voter's Ratis server uses towards voters it cannot reach, as configured. */
    org.apache.ratis.retry.RetryPolicy appenderRetryPolicy() {
        return org.apache.ratis.retry.RetryPolicy.parse(
                RaftServerConfigKeys.Log.Appender.retryPolicy(server.getProperties()),
                RaftServerConfigKeys.Log.Appender.RETRY_POLICY_KEY);
    }

    /** Resets the connect backoff of this voter's channels to the other voters now; how many were reset. */
    int resetPeerConnectBackoff() {
        return reconnector.resetAll();
    }

    /** How many snapshots this voter has installed from a leader (its log was too far behind). */
    public int installedSnapshots() {
        return stateMachine.installedSnapshots();
    }

    /** The leader this voter's Raft server knows; null if none (or the server is closing). */
    RaftPeerId leaderPeerId() {
        try {
            return server.getDivision(RatisSupport.GROUP_ID).getInfo().getLeaderId();
        } catch (IOException e) {
            return null;
        }
    }

    /** The quorum as this voter sees it (see {@link QuorumDescription}); null if its division cannot be reached. */
    public QuorumDescription describe(List<Integer> voterIds) {
        try {
            var division = server.getDivision(RatisSupport.GROUP_ID);
            var info = division.getInfo();
            long now = System.currentTimeMillis();
            long commit = division.getRaftLog().getLastCommittedIndex();
            int leaderId = info.getLeaderId() == null ? -1 : RatisSupport.nodeId(info.getLeaderId());
            java.util.Map<Integer, QuorumDescription.Voter> known = new java.util.HashMap<>();
            long ownEnd = division.getRaftLog().getNextIndex();
            known.put(nodeId, new QuorumDescription.Voter(nodeId, ownEnd, now, now));
            if (info.isLeader()) {
                var followers = info.getRoleInfoProto().getLeaderInfo().getFollowerInfoList();
                long[] matches = info.getFollowerMatchIndices();
                for (int i = 0; i < followers.size() && i < matches.length; i++) {
                    int id = RatisSupport.nodeId(org.apache.ratis.protocol.RaftPeerId.valueOf(followers.get(i).getId().getId()));
                    long last = now - followers.get(i).getLastRpcElapsedTimeMs();
                    // Ratis' match index is the last replicated entry; Kafka's log end offset is the next one.
                    long end = matches[i] + 1;
                    known.put(id, new QuorumDescription.Voter(id, end, last, end >= commit + 1 ? last : -1));
                }
            }
            List<QuorumDescription.Voter> voters = voterIds.stream().sorted()
                    .map(id -> known.getOrDefault(id, new QuorumDescription.Voter(id, -1, -1, -1))).toList();
            return new QuorumDescription(leaderId, info.getCurrentTerm(), commit + 1, voters);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the metadata state machine runs (or is paused for a snapshot install), not failed or closed. */
    public boolean stateMachineRunning() {
        var state = stateMachine.getLifeCycleState();
        return state == org.apache.ratis.util.LifeCycle.State.RUNNING
                || state == org.apache.ratis.util.LifeCycle.State.PAUSING
                || state == org.apache.ratis.util.LifeCycle.State.PAUSED
                || state == org.apache.ratis.util.LifeCycle.State.STARTING;
    }

    /** How many committed entries this voter skipped since it started, as they did not decode or apply. */
    public long skippedEntries() {
        return stateMachine.skippedEntries();
    }

    @Override
    public MetadataImage image() {
        return stateMachine.image();
    }

    @Override
    public void addListener(MetadataListener listener) {
        stateMachine.addListener(listener);
    }

    /** What a node at {@code fromOffset} lacks, from this voter's applied state. */
    public io.tributary.proto.metadata.MetadataUpdate updateSince(long fromOffset) {
        return stateMachine.updateSince(fromOffset);
    }

    @Override
    public CompletableFuture<MetadataImage> commit(List<MetadataRecord> records) {
        return commit(records, 0);
    }

    @Override
    public CompletableFuture<MetadataImage> commit(List<MetadataRecord> records, long term) {
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(image());
        }
        byte[] batch = MetadataBatch.newBuilder().addAllRecords(records).setControllerTerm(term).build()
                .toByteArray();
        // Only the leader's controller commits, so the batch goes straight to this voter's own server: no client, no
        // network, no retry to another voter. A Ratis client did that before and could hold a commit for its request
        // timeout per retry: one aimed at a leader gone silent (BrokerFencingIT), and one whose stream to this very
        // server had closed while it was paused and stepped down, which then tried the next voter, paused too
        // (ControllerPauseIT: a fence decided on time was committed only when that voter came back). The server
        // answers once the entry is applied, or fails it (not the leader, not ready, stepped down before commit).
        RaftClientRequest request = RaftClientRequest.newBuilder()
                .setClientId(writer)
                .setServerId(server.getId())
                .setGroupId(RatisSupport.GROUP_ID)
                .setCallId(writeCallIds.incrementAndGet())
                .setMessage(Message.valueOf(ByteString.copyFrom(batch)))
                .setType(RaftClientRequest.writeRequestType())
                .build();
        CompletableFuture<RaftClientReply> submitted;
        try {
            submitted = server.submitClientRequestAsync(request);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return submitted.handle((reply, error) -> {
            if (error != null) {
                throw error instanceof CompletionException ce ? ce : new CompletionException(error);
            }
            if (!reply.isSuccess()) {
                throw new IllegalStateException("metadata commit failed on node " + nodeId + ": "
                        + reply.getException());
            }
            if (MetadataStateMachine.FENCED.equals(reply.getMessage().getContent())) {
                throw new FencedBatchException("metadata batch of term " + term + " was committed in another term "
                        + "and skipped: node " + nodeId + " is no longer the active controller");
            }
            if (reply.getMessage() != null && !reply.getMessage().getContent().isEmpty()) {
                // The state machine skipped the batch (it did not apply to the image): committed, but not in it.
                throw new IllegalStateException("metadata commit on node " + nodeId + " was not applied: "
                        + reply.getMessage().getContent().toStringUtf8());
            }
            // Ratis answers after the leader applied the entry; this node is the leader, so the image has it.
            return image();
        });
    }

    @Override
    public void close() throws IOException {
        reconnector.close();
        server.close();
    }
}
