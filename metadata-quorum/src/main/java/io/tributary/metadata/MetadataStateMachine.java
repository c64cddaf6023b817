package io.tributary.metadata;

import com.google.protobuf.InvalidProtocolBufferException;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.ImageSnapshot;
import io.tributary.proto.metadata.MetadataBatch;
import io.tributary.proto.metadata.MetadataDeltas;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.MetadataUpdate;
import io.tributary.proto.metadata.OffsetBatch;
import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis state machine of the metadata quorum. Each Ratis log entry is one {@link MetadataBatch}; applying it
 * replays its records into the next {@link MetadataImage} (every record of the entry gets the entry's log index
 * as its offset) and hands the image to the {@link MetadataPublisher}, whose thread tells the listeners (they open
 * logs and load groups; none of that runs on the applying thread). Nothing else happens in apply: no clock, no
 * randomness, no I/O.
 *
 * <p>Apply never throws: an exception there stops Ratis' state machine updater, and as every voter replays the same
 * committed entry after each restart, one bad entry would stop the quorum for good. An entry that does not decode,
 * or whose records do not apply to the image, is skipped whole (the image is unchanged, never half-applied), logged
 * at ERROR and counted in {@link #skippedEntries()}; its index still counts as applied. Decoding and applying are
 * pure, so every voter skips the same entries.
 *
 * <p>Snapshots are the image as an {@link ImageSnapshot} in Ratis' simple snapshot storage, written durably and
 * verified against their MD5 when loaded ({@link MetadataSnapshotFile}): a corrupt snapshot stops the node rather
 * than leave it with a smaller image. Ratis installs them on lagging or new voters and purges its log behind them.
 *
 * <p>Read-only queries carry {@link ControllerRequest}s, which Ratis routes to the leader; they go to the active
 * controller when it is ready, else get NOT_CONTROLLER.
 *
 * <p>Threads: apply runs on Ratis' state machine updater thread; {@link #image()} and {@link #updateSince} may be
 * called from any thread.
 */
final class MetadataStateMachine extends BaseStateMachine {

    private static final Logger log = LoggerFactory.getLogger(MetadataStateMachine.class);
    /** How many recent batches are kept to catch brokers up with deltas rather than whole snapshots. */
    static final int RECENT_BATCHES = 2_000;
    /** The answer to a batch skipped for its term. */
    static final ByteString FENCED = ByteString.copyFromUtf8("FENCED");

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final MetadataPublisher publisher;
    private final ArrayDeque<OffsetBatch> recent = new ArrayDeque<>();
    private final int nodeId;
    private final java.util.concurrent.atomic.AtomicInteger installedSnapshots =
            new java.util.concurrent.atomic.AtomicInteger();
    private volatile MetadataImage image = MetadataImage.EMPTY;
    private volatile long skippedEntries;
    /** Ratis' state machine folder, where the snapshots are; set by {@link #initialize}. */
    private volatile Path snapshotDir;
    /** Every batch applied after this offset is in {@link #recent}. */
    private long recentFromOffset = -1;
    private volatile Function<ControllerRequest, CompletableFuture<ControllerResponse>> controller;
    private volatile Runnable onLeaderReady = () -> { };
    private volatile java.util.function.Supplier<QuorumDescription> describer = () -> null;
    private volatile java.util.function.BooleanSupplier caughtUp = () -> true;
    private volatile Runnable onLeadershipLost = () -> { };

    MetadataStateMachine(int nodeId) {
        this.nodeId = nodeId;
        this.publisher = new MetadataPublisher(nodeId, () -> caughtUp.getAsBoolean());
    }

    void setController(Function<ControllerRequest, CompletableFuture<ControllerResponse>> handler,
            Runnable leaderReady, Runnable leadershipLost) {
        this.controller = handler;
        this.onLeaderReady = leaderReady;
        this.onLeadershipLost = leadershipLost;
    }

    /** When listeners may get images: once this voter has caught up with the quorum (set before it starts). */
    void setCaughtUp(java.util.function.BooleanSupplier caughtUp) {
        this.caughtUp = caughtUp;
    }

    void setDescriber(java.util.function.Supplier<QuorumDescription> describer) {
        this.describer = describer;
    }

    MetadataImage image() {
        return image;
    }

    /** Adds a listener; it gets images on the publisher thread, never on Ratis' applying thread. */
    void addListener(MetadataView.MetadataListener listener) {
        publisher.addListener(listener);
    }

    @Override
    public void close() throws IOException {
        publisher.close();
        super.close();
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        snapshotDir = raftStorage.getStorageDir().getStateMachineDir().toPath();
        getLifeCycle().startAndTransition(this::loadLatestSnapshot);
    }

    /** Ratis pauses the state machine before it installs a snapshot from the leader, then calls reinitialize. */
    @Override
    public void pause() {
        if (getLifeCycleState() == LifeCycle.State.RUNNING) {
            getLifeCycle().transition(LifeCycle.State.PAUSING);
            getLifeCycle().transition(LifeCycle.State.PAUSED);
        }
    }

    int installedSnapshots() {
        return installedSnapshots.get();
    }

    /** How many committed entries this state machine skipped since it started, as they did not decode or apply. */
    long skippedEntries() {
        return skippedEntries;
    }

    @Override
    public void reinitialize() throws IOException {
        installedSnapshots.incrementAndGet();
        loadLatestSnapshot();
        if (getLifeCycleState() == LifeCycle.State.PAUSED) {
            getLifeCycle().transition(LifeCycle.State.STARTING);
            getLifeCycle().transition(LifeCycle.State.RUNNING);
        }
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    private synchronized void loadLatestSnapshot() throws IOException {
        // Rescan the folder: an installed snapshot replaces its files behind the cached latest one.
        SingleFileSnapshotInfo snapshot = storage.loadLatestSnapshot();
        if (snapshot == null) {
            requireNoSnapshotFile();
            return;
        }
        image = MetadataSnapshotFile.read(snapshot.getFile().getPath().toFile());
        recent.clear();
        recentFromOffset = image.offset();
        updateLastAppliedTermIndex(snapshot.getTerm(), snapshot.getIndex());
        log.info("node={} loaded metadata snapshot {} (image offset {})", nodeId, snapshot.getTermIndex(),
                image.offset());
        publisher.publish(image);
    }

    /**
     * Ratis' storage also answers "no snapshot" when it cannot read the folder or an MD5 file in it (it logs a
     * warning); starting from an empty image over a log purged behind that snapshot would lose the metadata.
     */
    private void requireNoSnapshotFile() throws IOException {
        Path dir = snapshotDir;
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        Path latest = null;
        long latestIndex = -1;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                var name = SimpleStateMachineStorage.SNAPSHOT_REGEX.matcher(file.getFileName().toString());
                if (name.matches() && Long.parseLong(name.group(2)) > latestIndex) {
                    latest = file;
                    latestIndex = Long.parseLong(name.group(2));
                }
            }
        }
        if (latest != null) {
            throw MetadataSnapshotFile.corrupt(latest.toFile(),
                    "Ratis' snapshot storage could not load the snapshots in its folder (see its warning above)",
                    null);
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        MetadataImage current;
        TermIndex last;
        synchronized (this) {
            current = image;
            last = getLastAppliedTermIndex();
        }
        if (last == null || last.getIndex() < 0) {
            return -1;
        }
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        MetadataSnapshotFile.write(file, current.toSnapshot());
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(
                new org.apache.ratis.server.storage.FileInfo(file.toPath(), MD5FileUtil.readStoredMd5ForFile(file)),
                last));
        log.info("node={} took metadata snapshot at {}", nodeId, last);
        return last.getIndex();
    }

    /**
     * Applies one committed entry; never throws (see the class comment). The reply is {@link Message#EMPTY} when
     * the entry was applied, else why it was skipped.
     */
    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        var entry = trx.getLogEntry();
        MetadataBatch batch;
        try {
            batch = MetadataBatch.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
        } catch (InvalidProtocolBufferException e) {
            return CompletableFuture.completedFuture(
                    skip(entry.getTerm(), entry.getIndex(), "it does not decode as a MetadataBatch", e));
        }
        if (batch.getControllerTerm() != 0 && batch.getControllerTerm() != entry.getTerm()) {
            // Decided by a controller of another term (deposed; its write reached the new leader): every voter
            // skips it the same way, and the sender learns from the answer.
            log.warn("node={} skips the metadata batch at index {}: decided in term {}, logged in term {}", nodeId,
                    entry.getIndex(), batch.getControllerTerm(), entry.getTerm());
            apply(entry.getTerm(), entry.getIndex(), MetadataBatch.getDefaultInstance());
            return CompletableFuture.completedFuture(Message.valueOf(FENCED));
        }
        return CompletableFuture.completedFuture(apply(entry.getTerm(), entry.getIndex(), batch));
    }

    private synchronized Message apply(long term, long index, MetadataBatch batch) {
        MetadataImage next = image;
        try {
            for (MetadataRecord record : batch.getRecordsList()) {
                next = next.apply(record, index);
            }
        } catch (RuntimeException e) {
            // MetadataImage.apply is pure, so this fails the same way on every voter: a record without a type
            // (IllegalArgumentException), or one that builds an invalid image (a misnumbered partition list).
            return skip(term, index, "its records do not apply to the image", e);
        }
        image = next;
        recent.addLast(OffsetBatch.newBuilder().setOffset(index).setBatch(batch).build());
        while (recent.size() > RECENT_BATCHES) {
            recentFromOffset = recent.removeFirst().getOffset();
        }
        updateLastAppliedTermIndex(term, index);
        publisher.publish(next);
        return Message.EMPTY;
    }

    /** Skips a committed entry whole: the image is unchanged, but the entry counts as applied so Ratis goes on. */
    private synchronized Message skip(long term, long index, String reason, Exception cause) {
        skippedEntries++;
        updateLastAppliedTermIndex(term, index);
        log.error("node={} skipped metadata entry index={} term={}: {}; the image is unchanged at offset {}",
                nodeId, index, term, reason, image.offset(), cause);
        return Message.valueOf("metadata entry at index " + index + " was skipped: " + reason);
    }

    /** What a node at {@code fromOffset} lacks: the batches after it if they are all kept, else a snapshot. */
    synchronized MetadataUpdate updateSince(long fromOffset) {
        if (fromOffset >= recentFromOffset) {
            MetadataDeltas.Builder deltas = MetadataDeltas.newBuilder().setLastOffset(image.offset());
            for (OffsetBatch b : recent) {
                if (b.getOffset() > fromOffset) {
                    deltas.addBatches(b);
                }
            }
            return MetadataUpdate.newBuilder().setDeltas(deltas).build();
        }
        return MetadataUpdate.newBuilder().setSnapshot(image.toSnapshot()).build();
    }

    @Override
    public CompletableFuture<Message> query(Message request) {
        ControllerRequest parsed;
        try {
            parsed = ControllerRequest.parseFrom(request.getContent().toByteArray());
        } catch (InvalidProtocolBufferException e) {
            return CompletableFuture.completedFuture(toMessage(ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.INVALID_REQUEST).setErrorMessage("undecodable request").build()));
        }
        if (parsed.hasDescribeQuorum()) {
            // Ratis routes read-only queries to the leader: this is the leader's own view of the quorum.
            QuorumDescription described = describer.get();
            ControllerResponse.Builder answer = ControllerResponse.newBuilder();
            if (described == null) {
                answer.setError(ControllerErrorCode.NOT_CONTROLLER).setErrorMessage("quorum not reachable");
            } else {
                answer.setDescribeQuorum(described.toProto());
            }
            return CompletableFuture.completedFuture(toMessage(answer.build()));
        }
        if (parsed.hasFetchMetadata()) {
            return CompletableFuture.completedFuture(toMessage(ControllerResponse.newBuilder()
                    .setMetadata(updateSince(parsed.getFetchMetadata().getFromOffset())).build()));
        }
        var handler = controller;
        if (handler == null) {
            return CompletableFuture.completedFuture(toMessage(ControllerResponse.newBuilder()
                    .setError(ControllerErrorCode.NOT_CONTROLLER).setControllerId(-1).build()));
        }
        return handler.apply(parsed).thenApply(MetadataStateMachine::toMessage);
    }

    private static Message toMessage(ControllerResponse response) {
        return Message.valueOf(ByteString.copyFrom(response.toByteArray()));
    }

    @Override
    public void notifyLeaderReady() {
        log.info("node={} is the metadata quorum leader and ready: becoming the active controller", nodeId);
        onLeaderReady.run();
    }

    /**
     * Ratis steps a leader down with this (not with {@link #notifyLeaderChanged}, which it calls only once a new
     * leader is known): without it a deposed controller stayed active through a leaderless window, and fenced
     * live brokers, its own included.
     */
    @Override
    public void notifyNotLeader(Collection<TransactionContext> pending) {
        log.info("node={} stepped down as metadata quorum leader: no longer the active controller", nodeId);
        onLeadershipLost.run();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        if (newLeaderId == null || !newLeaderId.equals(groupMemberId.getPeerId())) {
            onLeadershipLost.run();
        }
    }
}
