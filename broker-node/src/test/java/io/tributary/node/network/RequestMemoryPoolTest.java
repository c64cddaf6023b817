package io.tributary.node.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The admission rules of the node's request memory (queued.max.request.bytes). */
class RequestMemoryPoolTest {

    private static final long MIB = 1024 * 1024;
    private final AtomicInteger woken = new AtomicInteger();

    @Test
    void aFrameLargerThanThePoolIsAdmittedAloneAndOthersWaitUntilItIsGivenBack() {
        RequestMemoryPool pool = new RequestMemoryPool(64 * MIB);
        RequestMemoryPool.Reservation huge = pool.tryReserve(100 * MIB, woken::incrementAndGet);
        assertThat(huge).as("one frame always makes progress").isNotNull();
        assertThat(pool.tryReserve(100 * MIB, woken::incrementAndGet)).isNull();
        assertThat(pool.tryReserve(20 * MIB, woken::incrementAndGet)).as("not small: no reserve").isNull();
        assertThat(pool.waitingConnections()).isEqualTo(2);
        assertThat(pool.used()).isEqualTo(100 * MIB);

        pool.release(huge);
        assertThat(woken).hasValue(2);
        assertThat(pool.waitingConnections()).isZero();
        assertThat(pool.used()).isZero();
        assertThat(pool.refusals()).isEqualTo(2);
    }

    @Test
    void smallFramesUseTheReserveWhileLargeOnesHoldTheRest() {
        RequestMemoryPool pool = new RequestMemoryPool(64 * MIB); // 48 MiB general, 16 MiB reserve
        assertThat(pool.tryReserve(30 * MIB, woken::incrementAndGet)).isNotNull();
        assertThat(pool.tryReserve(18 * MIB, woken::incrementAndGet)).isNotNull();
        assertThat(pool.tryReserve(3 * MIB, woken::incrementAndGet)).as("general full, too big for the reserve")
                .isNull();
        for (int i = 0; i < 16; i++) {
            RequestMemoryPool.Reservation small = pool.tryReserve(MIB, woken::incrementAndGet);
            assertThat(small).as("small frame %s", i).isNotNull();
            assertThat(small.fromReserve()).isTrue();
        }
        assertThat(pool.tryReserve(MIB, woken::incrementAndGet)).as("the reserve is used up too").isNull();
        assertThat(pool.used()).isEqualTo(64 * MIB);
        assertThat(pool.responseRoom()).isZero();
    }

    @Test
    void responsesCountWithoutACheckAndStopFurtherRequests() {
        RequestMemoryPool pool = new RequestMemoryPool(64 * MIB);
        RequestMemoryPool.Reservation response = pool.forceReserve(60 * MIB);
        assertThat(pool.responseRoom()).isZero();
        assertThat(pool.tryReserve(4 * MIB, woken::incrementAndGet)).isNull();
        pool.release(response);
        assertThat(woken).hasValue(1);
        assertThat(pool.responseRoom()).isEqualTo(48 * MIB);
    }

    @Test
    void minusOneIsKafkasNoBound() {
        RequestMemoryPool pool = new RequestMemoryPool(-1);
        for (int i = 0; i < 100; i++) {
            assertThat(pool.tryReserve(100 * MIB, woken::incrementAndGet)).isNotNull();
        }
        assertThat(pool.capacity()).isEqualTo(Long.MAX_VALUE);
    }
}
