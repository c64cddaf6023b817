package io.tributary.replication;

/**
 * One partition of a follower's fetch, as the leader receives it.
 *
 * @param replicaId the fetching broker
 * @param brokerEpoch the fetching broker's epoch (its registration), checked against the leader's metadata
 * @param fetchOffset the follower's log end offset: it has every record below
 * @param lastFetchedEpoch the epoch of the follower's last batch, -1 if its log is empty (KIP-320)
 * @param currentLeaderEpoch the leader epoch the follower believes in
 * @param logStartOffset the follower's log start offset (-1: unknown); DeleteRecords waits for it
 */
public record FollowerFetch(int replicaId, long brokerEpoch, long fetchOffset, int lastFetchedEpoch,
        int currentLeaderEpoch, long logStartOffset) {

    /** A fetch that does not say its log start offset. */
    public FollowerFetch(int replicaId, long brokerEpoch, long fetchOffset, int lastFetchedEpoch,
            int currentLeaderEpoch) {
        this(replicaId, brokerEpoch, fetchOffset, lastFetchedEpoch, currentLeaderEpoch, -1);
    }
}
