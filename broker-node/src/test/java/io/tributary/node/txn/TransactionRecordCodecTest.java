package io.tributary.node.txn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.node.txn.TransactionRecord.MetadataRecord;
import io.tributary.node.txn.TransactionRecord.Tombstone;
import io.tributary.node.txn.TransactionRecordCodec.Encoded;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CorruptRecordException;
import org.junit.jupiter.api.Test;

class TransactionRecordCodecTest {

    private static final TransactionMetadata PREPARED = new TransactionMetadata("tx-é", 42, 41, (short) 7,
            (short) 6, 60_000, TransactionState.PREPARE_COMMIT,
            Set.of(new TopicPartition("b", 3), new TopicPartition("a", 10), new TopicPartition("a", 2)), 1_000, 2_000);

    private static List<TransactionRecord> everyKind() {
        List<TransactionRecord> records = new ArrayList<>();
        for (TransactionState state : TransactionState.values()) {
            if (!state.isDurable()) {
                continue;
            }
            boolean hasPartitions = state == TransactionState.ONGOING || state.isPrepare();
            records.add(new MetadataRecord(new TransactionMetadata("id-" + state, Long.MAX_VALUE, -1,
                    Short.MAX_VALUE, (short) -1, Integer.MAX_VALUE, state,
                    hasPartitions ? PREPARED.partitions() : Set.of(), -1, 0)));
        }
        records.add(new MetadataRecord(PREPARED));
        records.add(new Tombstone("gone"));
        return records;
    }

    @Test
    void everyRecordKindRoundTrips() {
        for (TransactionRecord record : everyKind()) {
            Encoded e = TransactionRecordCodec.encode(record);
            assertThat(TransactionRecordCodec.decode(e.key(), e.value())).isEqualTo(record);
            assertThat(e.value() == null).isEqualTo(record instanceof Tombstone);
        }
    }

    @Test
    void theBytesFollowTheDocumentedLayoutWithPartitionsSorted() {
        Encoded e = TransactionRecordCodec.encode(new MetadataRecord(PREPARED));
        ByteBuffer key = ByteBuffer.wrap(e.key());
        assertThat(key.getShort()).isEqualTo((short) 0);
        assertThat(key.getShort()).isEqualTo((short) "tx-é".getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        ByteBuffer v = ByteBuffer.wrap(e.value());
        assertThat(v.getShort()).isEqualTo((short) 0);
        assertThat(v.getLong()).isEqualTo(42);
        assertThat(v.getLong()).isEqualTo(41);
        assertThat(v.getShort()).isEqualTo((short) 7);
        assertThat(v.getShort()).isEqualTo((short) 6);
        assertThat(v.getInt()).isEqualTo(60_000);
        assertThat(v.get()).isEqualTo((byte) 2); // PrepareCommit, Kafka's state byte
        assertThat(v.getInt()).isEqualTo(3);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] topic = new byte[v.getShort()];
            v.get(topic);
            order.add(new String(topic) + "-" + v.getInt());
        }
        assertThat(order).containsExactly("a-2", "a-10", "b-3");
        assertThat(v.getLong()).isEqualTo(1_000);
        assertThat(v.getLong()).isEqualTo(2_000);
        assertThat(v.hasRemaining()).isFalse();
    }

    @Test
    void everyTruncationAndTrailingByteIsRefusedAsCorrupt() {
        Encoded e = TransactionRecordCodec.encode(new MetadataRecord(PREPARED));
        for (int length = 0; length < e.value().length; length++) {
            byte[] truncated = Arrays.copyOf(e.value(), length);
            assertThatThrownBy(() -> TransactionRecordCodec.decode(e.key(), truncated)).as("value of %s", length)
                    .isInstanceOf(CorruptRecordException.class);
        }
        for (int length = 0; length < e.key().length; length++) {
            byte[] truncated = Arrays.copyOf(e.key(), length);
            assertThatThrownBy(() -> TransactionRecordCodec.decode(truncated, e.value())).as("key of %s", length)
                    .isInstanceOf(CorruptRecordException.class);
        }
        assertThatThrownBy(() -> TransactionRecordCodec.decode(e.key(), Arrays.copyOf(e.value(),
                e.value().length + 1))).isInstanceOf(CorruptRecordException.class);
        assertThatThrownBy(() -> TransactionRecordCodec.decode(null, e.value()))
                .isInstanceOf(CorruptRecordException.class);
    }

    @Test
    void unknownVersionsStatesAndImpossibleFieldsAreRefusedAsCorrupt() {
        Encoded e = TransactionRecordCodec.encode(new MetadataRecord(PREPARED));
        int stateOffset = 2 + 8 + 8 + 2 + 2 + 4;
        int countOffset = stateOffset + 1;
        List<byte[]> badValues = List.of(
                patch(e.value(), 0, 0, 1), // value version 1
                patch(e.value(), stateOffset, 6), // Dead is never stored
                patch(e.value(), stateOffset, 7), // nor PrepareEpochFence
                patch(e.value(), stateOffset, 99),
                patch(e.value(), countOffset, 0x7f, 0xff, 0xff, 0xff), // a count the bytes cannot hold
                patch(e.value(), countOffset, 0xff, 0xff, 0xff, 0xff), // negative
                patch(e.value(), 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe), // producer id -2
                patch(e.value(), countOffset + 4, 0xff, 0xff), // negative topic length
                patch(e.value(), countOffset + 6, 0xc3, 0x28)); // invalid UTF-8 in a topic
        for (byte[] bad : badValues) {
            assertThatThrownBy(() -> TransactionRecordCodec.decode(e.key(), bad))
                    .isInstanceOf(CorruptRecordException.class);
        }
        assertThatThrownBy(() -> TransactionRecordCodec.decode(patch(e.key(), 0, 0, 1), e.value()))
                .as("key version 1").isInstanceOf(CorruptRecordException.class);
        assertThatThrownBy(() -> TransactionRecordCodec.decode(new byte[] {0, 0, 0, 0}, null))
                .as("empty transactional id").isInstanceOf(CorruptRecordException.class);
        // Empty state with partitions breaks TransactionMetadata's rules
        assertThatThrownBy(() -> TransactionRecordCodec.decode(e.key(), patch(e.value(), stateOffset, 0)))
                .isInstanceOf(CorruptRecordException.class);
    }

    @Test
    void randomCorruptionEitherDecodesToAValidRecordOrIsRefusedAsCorrupt() {
        Random random = new Random(14);
        List<TransactionRecord> records = everyKind();
        for (int i = 0; i < 20_000; i++) {
            Encoded e = TransactionRecordCodec.encode(records.get(random.nextInt(records.size())));
            byte[] key = e.key().clone();
            byte[] value = e.value() == null ? null : e.value().clone();
            byte[] target = value != null && random.nextBoolean() ? value : key;
            for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
                target[random.nextInt(target.length)] = (byte) random.nextInt(256);
            }
            try {
                TransactionRecord decoded = TransactionRecordCodec.decode(key, value);
                Encoded again = TransactionRecordCodec.encode(decoded);
                assertThat(TransactionRecordCodec.decode(again.key(), again.value())).isEqualTo(decoded);
            } catch (CorruptRecordException expected) {
                // refused cleanly
            }
        }
    }

    private static byte[] patch(byte[] bytes, int offset, int... values) {
        byte[] copy = bytes.clone();
        for (int i = 0; i < values.length; i++) {
            copy[offset + i] = (byte) values[i];
        }
        return copy;
    }
}
