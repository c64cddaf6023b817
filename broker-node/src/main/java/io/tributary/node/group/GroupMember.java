package io.tributary.node.group;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.SyncGroupResponseData;

/**
 * One member of a classic group (Kafka's ClassicGroupMember): its protocols in preference order, its assignment,
 * the JoinGroup/SyncGroup it is waiting on, and its session deadline. Mutable; owned by its {@link ClassicGroup}.
 */
final class GroupMember {

    /** A protocol the member supports, with its metadata (for consumers: the subscription). */
    record Protocol(String name, byte[] metadata) {
    }

    static final byte[] NO_BYTES = new byte[0];

    final String memberId;
    final String groupInstanceId;
    final String clientId;
    final String clientHost;
    final String protocolType;
    int rebalanceTimeoutMs;
    int sessionTimeoutMs;
    List<Protocol> protocols;
    byte[] assignment = NO_BYTES;
    CompletableFuture<JoinGroupResponseData> joinFuture;
    CompletableFuture<SyncGroupResponseData> syncFuture;
    long sessionDeadlineMs;
    /** Joined during the current rebalance and not yet through a join phase: may expire while awaiting join. */
    boolean isNew;

    GroupMember(String memberId, String groupInstanceId, String clientId, String clientHost, String protocolType,
            int rebalanceTimeoutMs, int sessionTimeoutMs, List<Protocol> protocols) {
        this.memberId = memberId;
        this.groupInstanceId = groupInstanceId;
        this.clientId = clientId;
        this.clientHost = clientHost;
        this.protocolType = protocolType;
        this.rebalanceTimeoutMs = rebalanceTimeoutMs;
        this.sessionTimeoutMs = sessionTimeoutMs;
        this.protocols = List.copyOf(protocols);
    }

    /** A copy under a new member id (KIP-345: a static member's new incarnation keeps its assignment). */
    GroupMember withMemberId(String newMemberId) {
        GroupMember m = new GroupMember(newMemberId, groupInstanceId, clientId, clientHost, protocolType,
                rebalanceTimeoutMs, sessionTimeoutMs, protocols);
        m.assignment = assignment;
        m.sessionDeadlineMs = sessionDeadlineMs;
        return m;
    }

    boolean isStatic() {
        return groupInstanceId != null;
    }

    boolean awaitingJoin() {
        return joinFuture != null;
    }

    boolean awaitingSync() {
        return syncFuture != null;
    }

    /**
     * Kafka's hasSatisfiedHeartbeat: a member blocked in JoinGroup or SyncGroup cannot heartbeat, so it does not
     * expire meanwhile, except a new member, which may (its deadline is the new-member join timeout).
     */
    boolean sessionExempt() {
        return !isNew && (awaitingJoin() || awaitingSync());
    }

    boolean supports(String protocol) {
        return protocols.stream().anyMatch(p -> p.name().equals(protocol));
    }

    byte[] metadata(String protocol) {
        for (Protocol p : protocols) {
            if (p.name().equals(protocol)) {
                return p.metadata();
            }
        }
        throw new IllegalStateException("member " + memberId + " does not support protocol " + protocol);
    }

    /** Kafka's vote: the member's most preferred protocol among the candidates. */
    String vote(Set<String> candidates) {
        for (Protocol p : protocols) {
            if (candidates.contains(p.name())) {
                return p.name();
            }
        }
        throw new IllegalStateException("member " + memberId + " supports none of " + candidates);
    }

    /** True if the member rejoins with exactly the protocols and metadata it has (Kafka's matches). */
    boolean matches(List<Protocol> other) {
        if (other.size() != protocols.size()) {
            return false;
        }
        for (int i = 0; i < other.size(); i++) {
            if (!other.get(i).name().equals(protocols.get(i).name())
                    || !Arrays.equals(other.get(i).metadata(), protocols.get(i).metadata())) {
                return false;
            }
        }
        return true;
    }
}
