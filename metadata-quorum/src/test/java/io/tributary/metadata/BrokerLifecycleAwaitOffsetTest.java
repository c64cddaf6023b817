package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Handlers wait for this node's metadata to reach an offset the controller committed for their client; callers
 * waiting for the same offset do not share a deadline: one caller's timeout leaves the others waiting.
 */
class BrokerLifecycleAwaitOffsetTest {

    @Test
    void oneCallersTimeoutDoesNotFailAnotherWaitingForTheSameOffset() throws Exception {
        MetadataImage atFive = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setRegisterBroker(
                RegisterBrokerRecord.newBuilder().setBrokerId(2).setIncarnationId("i2")).build(), 5);
        MetadataView view = new MetadataView() {
            @Override
            public MetadataImage image() {
                return atFive;
            }

            @Override
            public void addListener(MetadataListener listener) {
            }
        };
        AtomicLong published = new AtomicLong(0); // the replicas have not acted on offset 5 yet
        BrokerLifecycle lifecycle = new BrokerLifecycle(1, List.of(), null, view, 500);
        try {
            lifecycle.setPublishedOffset(published::get);
            CompletableFuture<Void> impatient = lifecycle.awaitOffset(5, 50);
            CompletableFuture<Void> patient = lifecycle.awaitOffset(5, 60_000);

            assertThatThrownBy(() -> impatient.get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);
            assertThat(patient).isNotDone();

            published.set(5);
            lifecycle.onPublished();
            patient.get(10, TimeUnit.SECONDS);
        } finally {
            lifecycle.close();
        }
    }
}
