package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The replication throttle's rate (Kafka's sampled rate over 11 one-second windows) and its replica lists. */
class ReplicationQuotaTest {

    @Test
    void withoutABoundTheQuotaIsNeverExceeded() {
        ReplicationQuota quota = new ReplicationQuota("leader");
        quota.record(Long.MAX_VALUE / 2, 0);
        assertThat(quota.isExceeded(0)).isFalse();
        assertThat(quota.bytesPerSecond()).isEqualTo(ReplicationQuota.UNLIMITED);
    }

    @Test
    void theRateSpansAtLeastTenWindowsSoACopyStartsWithABurstThenKeepsToTheBound() {
        ReplicationQuota quota = new ReplicationQuota("leader");
        quota.setBytesPerSecond(1_000);
        assertThat(quota.isExceeded(0)).as("nothing recorded").isFalse();
        // 10,000 bytes at once: 10,000 / 10 s = the bound, not over it
        quota.record(10_000, 0);
        assertThat(quota.isExceeded(0)).isFalse();
        quota.record(1, 0);
        assertThat(quota.isExceeded(0)).as("one byte over ten seconds' worth").isTrue();
        // Ten seconds on, the rate over the windows is 10,001 / 10 s: still just over
        assertThat(quota.isExceeded(10_000)).isTrue();
        // Once the first window is older than 11 windows it no longer counts
        assertThat(quota.isExceeded(11_000)).isFalse();
        assertThat(quota.rate(11_000)).isZero();
    }

    @Test
    void aSteadyFlowAtTheBoundStaysWithinItAndOneAboveExceedsIt() {
        ReplicationQuota atBound = new ReplicationQuota("follower");
        atBound.setBytesPerSecond(1_000);
        ReplicationQuota above = new ReplicationQuota("follower");
        above.setBytesPerSecond(1_000);
        boolean aboveExceeded = false;
        for (long t = 0; t < 60_000; t += 100) {
            assertThat(atBound.isExceeded(t)).as("at %d ms", t).isFalse();
            atBound.record(100, t);
            above.record(150, t);
            aboveExceeded |= above.isExceeded(t);
        }
        assertThat(atBound.rate(60_000)).isBetween(900.0, 1_000.0);
        assertThat(aboveExceeded).isTrue();
        assertThat(above.recordedBytes()).isEqualTo(600 * 150);
    }

    @Test
    void aRemovedBoundLiftsTheThrottleAtOnce() {
        ReplicationQuota quota = new ReplicationQuota("leader");
        quota.setBytesPerSecond(10);
        quota.record(1_000, 0);
        assertThat(quota.isExceeded(1)).isTrue();
        quota.setBytesPerSecond(ReplicationQuota.UNLIMITED);
        assertThat(quota.isExceeded(1)).isFalse();
    }

    @Test
    void throttledReplicaListsNameThisNodesPartitionsOrAll() {
        assertThat(ReplicationQuota.parse("0:1, 1:2,2:1 , 3 : 1", 1)).isEqualTo(Set.of(0, 2, 3));
        assertThat(ReplicationQuota.parse("0:1,1:2", 3)).isEmpty();
        assertThat(ReplicationQuota.parse("", 1)).isEmpty();
        assertThat(ReplicationQuota.parse(" * ", 7)).isSameAs(ReplicationQuota.ALL);

        ReplicationQuota quota = new ReplicationQuota("leader");
        quota.setThrottled(Map.of("a", ReplicationQuota.parse("0:1,2:1", 1), "b", ReplicationQuota.parse("*", 1)));
        assertThat(quota.isThrottled(new PartitionId("a", 0))).isTrue();
        assertThat(quota.isThrottled(new PartitionId("a", 1))).isFalse();
        assertThat(quota.isThrottled(new PartitionId("b", 5))).isTrue();
        assertThat(quota.isThrottled(new PartitionId("c", 0))).isFalse();
    }

    @Test
    void malformedListsAreRefusedWithKafkasReason() {
        for (String bad : new String[] {"0", "0:1,", "a:1", "0:1:2", "0;1", "-1:2", "*,0:1", "0:99999999999"}) {
            assertThat(ReplicationQuota.problem("leader.replication.throttled.replicas", bad)).as(bad)
                    .startsWith("Invalid value " + bad + " for configuration leader.replication.throttled.replicas");
            assertThatThrownBy(() -> ReplicationQuota.parse(bad, 1)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(ReplicationQuota.problem("x", "0:1,10:3")).isNull();
        assertThat(ReplicationQuota.problem("x", "*")).isNull();
        assertThat(ReplicationQuota.problem("x", "")).isNull();
    }
}
