package io.tributary.node.txn;

import io.tributary.node.coordinator.CoordinatorBytes;
import io.tributary.node.txn.TransactionRecord.MetadataRecord;
import io.tributary.node.txn.TransactionRecord.Tombstone;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.CorruptRecordException;

/**
 * The bytes of {@link TransactionRecord}s in {@code __transaction_state}: a record key and a record value, the value
 * null for a tombstone (so log compaction keeps the latest state per transactional id). All integers big-endian
 * ({@link DataOutputStream}); a "string" is an int16 byte length then UTF-8 bytes (never null).
 *
 * <pre>
 * key       := int16 keyVersion (0), string transactionalId
 * value     := null (tombstone), or
 *              int16 valueVersion (0), int64 producerId, int64 previousProducerId, int16 producerEpoch,
 *              int16 lastProducerEpoch, int32 txnTimeoutMs, int8 state, int32 partitionCount,
 *              partitionCount x partition, int64 txnStartTimestampMs, int64 txnLastUpdateTimestampMs
 * partition := string topic, int32 partition
 * state     := Kafka's state byte (0 Empty, 1 Ongoing, 2 PrepareCommit, 3 PrepareAbort, 4 CompleteCommit,
 *              5 CompleteAbort; 6 Dead and 7 PrepareEpochFence are never written)
 * </pre>
 *
 * <p>The key mirrors Kafka's TransactionLogKey; the value carries Kafka's TransactionLogValue fields plus
 * {@code lastProducerEpoch} (Kafka does not persist it), in our own untagged layout, not Kafka's. Decoding is total:
 * any input that is not exactly a record this codec writes (truncated, trailing bytes, unknown version or state,
 * counts beyond {@link #MAX_PARTITIONS}, metadata that breaks {@link TransactionMetadata}'s rules) throws
 * {@link CorruptRecordException} and nothing else, so the loader can refuse it cleanly; a newer writer's log is never
 * misread.
 */
public final class TransactionRecordCodec {

    public static final short KEY_VERSION = 0;
    public static final short VALUE_VERSION = 0;
    /** The most partitions a value may list; bounds the allocation a corrupt count could cause. */
    public static final int MAX_PARTITIONS = 100_000;

    /** A record's key and value bytes; {@code value} is null for a tombstone. */
    public record Encoded(byte[] key, byte[] value) {
    }

    private TransactionRecordCodec() {
    }

    public static Encoded encode(TransactionRecord record) {
        byte[] key = CoordinatorBytes.write(out -> {
            out.writeShort(KEY_VERSION);
            CoordinatorBytes.writeShortString(out, record.transactionalId());
        });
        if (record instanceof Tombstone) {
            return new Encoded(key, null);
        }
        TransactionMetadata m = ((MetadataRecord) record).metadata();
        return new Encoded(key, CoordinatorBytes.write(out -> {
            out.writeShort(VALUE_VERSION);
            out.writeLong(m.producerId());
            out.writeLong(m.previousProducerId());
            out.writeShort(m.producerEpoch());
            out.writeShort(m.lastProducerEpoch());
            out.writeInt(m.txnTimeoutMs());
            out.writeByte(m.state().id());
            out.writeInt(m.partitions().size());
            for (TopicPartition tp : m.partitions()) {
                CoordinatorBytes.writeShortString(out, tp.topic());
                out.writeInt(tp.partition());
            }
            out.writeLong(m.txnStartTimestampMs());
            out.writeLong(m.txnLastUpdateTimestampMs());
        }));
    }

    /** Decodes a record; {@code value} null is a tombstone. Throws only {@link CorruptRecordException}. */
    public static TransactionRecord decode(byte[] key, byte[] value) {
        if (key == null) {
            throw new CorruptRecordException("__transaction_state record without a key");
        }
        try {
            DataInputStream k = new DataInputStream(new ByteArrayInputStream(key));
            short keyVersion = k.readShort();
            if (keyVersion != KEY_VERSION) {
                throw new CorruptRecordException("unknown __transaction_state key version " + keyVersion);
            }
            String transactionalId = CoordinatorBytes.readShortString(k);
            requireConsumed(k, "key");
            if (transactionalId.isEmpty()) {
                throw new CorruptRecordException("empty transactional id");
            }
            if (value == null) {
                return new Tombstone(transactionalId);
            }
            return new MetadataRecord(decodeValue(transactionalId, value));
        } catch (IOException | IllegalArgumentException | IllegalStateException e) {
            throw new CorruptRecordException("malformed __transaction_state record: " + e.getMessage(), e);
        }
    }

    private static TransactionMetadata decodeValue(String transactionalId, byte[] value) throws IOException {
        DataInputStream v = new DataInputStream(new ByteArrayInputStream(value));
        short version = v.readShort();
        if (version != VALUE_VERSION) {
            throw new CorruptRecordException("unknown __transaction_state value version " + version);
        }
        long producerId = v.readLong();
        long previousProducerId = v.readLong();
        short producerEpoch = v.readShort();
        short lastProducerEpoch = v.readShort();
        int txnTimeoutMs = v.readInt();
        int stateId = v.readByte();
        TransactionState state = TransactionState.fromId(stateId);
        if (state == null || !state.isDurable()) {
            throw new CorruptRecordException("bad transaction state byte " + stateId);
        }
        int count = v.readInt();
        // each partition takes at least 6 bytes: a count larger than what is left is corrupt
        if (count < 0 || count > MAX_PARTITIONS || count > v.available() / 6) {
            throw new CorruptRecordException("bad partition count " + count);
        }
        Set<TopicPartition> partitions = new HashSet<>(count);
        for (int i = 0; i < count; i++) {
            String topic = CoordinatorBytes.readShortString(v);
            int partition = v.readInt();
            if (partition < 0) {
                throw new CorruptRecordException("negative partition " + partition);
            }
            if (!partitions.add(new TopicPartition(topic, partition))) {
                throw new CorruptRecordException("partition " + topic + "-" + partition + " listed twice");
            }
        }
        long startMs = v.readLong();
        long lastUpdateMs = v.readLong();
        requireConsumed(v, "value");
        return new TransactionMetadata(transactionalId, producerId, previousProducerId, producerEpoch,
                lastProducerEpoch, txnTimeoutMs, state, partitions, startMs, lastUpdateMs);
    }

    private static void requireConsumed(DataInputStream in, String what) throws IOException {
        if (in.available() != 0) {
            throw new CorruptRecordException(in.available() + " trailing bytes in __transaction_state " + what);
        }
    }
}
