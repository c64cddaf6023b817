package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.replication.ReplicaFetchError;
import org.junit.jupiter.api.Test;

/**
 * After a leader change the follower often applies the new image before its new leader does; its first fetch is
 * then refused for metadata lag (NOT_LEADER, UNKNOWN_LEADER_EPOCH ...). Such a partition is fetched again after
 * {@link ReplicaFetcher#METADATA_LAG_BACKOFF_MS}, not Kafka's full second: until the follower fetches, the new
 * leader cannot commit an acks=all write. Real errors keep the full backoff.
 */
class ReplicaFetcherBackoffTest {

    @Test
    void metadataLagIsRetriedSoonAndRealErrorsAfterTheFullBackoff() {
        for (ReplicaFetchError lag : new ReplicaFetchError[] {ReplicaFetchError.NOT_LEADER,
                ReplicaFetchError.UNKNOWN_LEADER_EPOCH, ReplicaFetchError.FENCED_LEADER_EPOCH,
                ReplicaFetchError.STALE_BROKER_EPOCH}) {
            assertThat(ReplicaFetcher.backoffMs(lag)).as("%s", lag).isEqualTo(ReplicaFetcher.METADATA_LAG_BACKOFF_MS)
                    .isLessThanOrEqualTo(100);
        }
        for (ReplicaFetchError real : new ReplicaFetchError[] {ReplicaFetchError.UNKNOWN_PARTITION,
                ReplicaFetchError.OFFSET_OUT_OF_RANGE, ReplicaFetchError.NOT_IN_REPLICAS,
                ReplicaFetchError.STORAGE_ERROR}) {
            assertThat(ReplicaFetcher.backoffMs(real)).as("%s", real).isEqualTo(ReplicaFetcher.ERROR_BACKOFF_MS);
        }
    }
}
