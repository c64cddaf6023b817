package io.tributary.node.group;

import io.tributary.node.coordinator.CoordinatorBytes;
import io.tributary.node.group.GroupRecord.GroupMetadataRecord;
import io.tributary.node.group.GroupRecord.GroupTombstone;
import io.tributary.node.group.GroupRecord.MemberRecord;
import io.tributary.node.group.GroupRecord.OffsetCommitRecord;
import io.tributary.node.group.GroupRecord.OffsetTombstone;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of {@link GroupRecord}s in {@code __consumer_offsets}: a record key and a record value, the value null
 * for a tombstone (so log compaction keeps the latest state per key). All integers big-endian
 * ({@link DataOutputStream}); a "string" is an int32 byte length (-1: null) then UTF-8 bytes; "bytes" is an int32
 * length then the bytes.
 *
 * <pre>
 * key   := int16 keyType, then
 *          keyType 1 (offset): string group, string topic, int32 partition
 *          keyType 2 (group):  string group
 * value := null (tombstone), or int16 valueVersion (0), then
 *          offset (keyType 1): int64 offset, int32 leaderEpoch, string metadata, int64 commitTimestampMs
 *          group  (keyType 2): string protocolType, string protocol, int32 generation, string leader,
 *                              int64 stateTimestampMs, int32 memberCount, memberCount x member
 * member := string memberId, string groupInstanceId, string clientId, string clientHost, int32 rebalanceTimeoutMs,
 *           int32 sessionTimeoutMs, bytes metadata, bytes assignment
 * </pre>
 *
 * <p>Key types 1 and 2 mirror Kafka's offset-commit and group-metadata keys; the layouts are ours, not Kafka's. Key
 * types 3 to 8 (KIP-848 consumer groups) are in Kafka's layout, documented in {@link ConsumerGroupRecordCodec}. A
 * reader seeing an unknown key type or value version fails loudly: a newer writer's log must not be misread.
 */
public final class GroupRecordCodec {

    public static final short OFFSET_KEY = 1;
    public static final short GROUP_KEY = 2;
    public static final short VALUE_VERSION = 0;

    /** A record's key and value bytes; {@code value} is null for a tombstone. */
    public record Encoded(byte[] key, byte[] value) {
    }

    private GroupRecordCodec() {
    }

    public static Encoded encode(GroupRecord record) {
        if (record instanceof ConsumerGroupRecord r) {
            return ConsumerGroupRecordCodec.encode(r);
        }
        if (record instanceof OffsetCommitRecord r) {
            return new Encoded(offsetKey(r.group(), r.topic(), r.partition()), CoordinatorBytes.write(out -> {
                out.writeShort(VALUE_VERSION);
                out.writeLong(r.offset());
                out.writeInt(r.leaderEpoch());
                writeString(out, r.metadata());
                out.writeLong(r.commitTimestampMs());
            }));
        }
        if (record instanceof OffsetTombstone r) {
            return new Encoded(offsetKey(r.group(), r.topic(), r.partition()), null);
        }
        if (record instanceof GroupMetadataRecord r) {
            return new Encoded(groupKey(r.group()), CoordinatorBytes.write(out -> {
                out.writeShort(VALUE_VERSION);
                writeString(out, r.protocolType());
                writeString(out, r.protocol());
                out.writeInt(r.generation());
                writeString(out, r.leader());
                out.writeLong(r.stateTimestampMs());
                out.writeInt(r.members().size());
                for (MemberRecord m : r.members()) {
                    writeString(out, m.memberId());
                    writeString(out, m.groupInstanceId());
                    writeString(out, m.clientId());
                    writeString(out, m.clientHost());
                    out.writeInt(m.rebalanceTimeoutMs());
                    out.writeInt(m.sessionTimeoutMs());
                    writeBytes(out, m.metadata());
                    writeBytes(out, m.assignment());
                }
            }));
        }
        return new Encoded(groupKey(((GroupTombstone) record).group()), null);
    }

    public static GroupRecord decode(byte[] key, byte[] value) {
        try {
            DataInputStream k = new DataInputStream(new ByteArrayInputStream(key));
            short keyType = k.readShort();
            if (ConsumerGroupRecordCodec.handles(keyType)) {
                return ConsumerGroupRecordCodec.decode(keyType, k, value); // Kafka's layout, key types 3-8
            }
            switch (keyType) {
                case OFFSET_KEY -> {
                    String group = readString(k);
                    String topic = readString(k);
                    int partition = k.readInt();
                    if (value == null) {
                        return new OffsetTombstone(group, topic, partition);
                    }
                    DataInputStream v = valueStream(value);
                    return new OffsetCommitRecord(group, topic, partition, v.readLong(), v.readInt(), readString(v),
                            v.readLong());
                }
                case GROUP_KEY -> {
                    String group = readString(k);
                    if (value == null) {
                        return new GroupTombstone(group);
                    }
                    DataInputStream v = valueStream(value);
                    String protocolType = readString(v);
                    String protocol = readString(v);
                    int generation = v.readInt();
                    String leader = readString(v);
                    long stateTimestampMs = v.readLong();
                    int count = v.readInt();
                    if (count < 0) {
                        throw new IllegalStateException("negative member count " + count);
                    }
                    List<MemberRecord> members = new ArrayList<>(Math.min(count, 1024));
                    for (int i = 0; i < count; i++) {
                        members.add(new MemberRecord(readString(v), readString(v), readString(v), readString(v),
                                v.readInt(), v.readInt(), readBytes(v), readBytes(v)));
                    }
                    return new GroupMetadataRecord(group, protocolType, protocol, generation, leader,
                            stateTimestampMs, members);
                }
                default -> throw new IllegalStateException("unknown __consumer_offsets key type " + keyType);
            }
        } catch (IOException e) {
            throw new IllegalStateException("truncated __consumer_offsets record", e);
        }
    }

    private static DataInputStream valueStream(byte[] value) throws IOException {
        DataInputStream v = new DataInputStream(new ByteArrayInputStream(value));
        short version = v.readShort();
        if (version != VALUE_VERSION) {
            throw new IllegalStateException("unknown __consumer_offsets value version " + version);
        }
        return v;
    }

    private static byte[] offsetKey(String group, String topic, int partition) {
        return CoordinatorBytes.write(out -> {
            out.writeShort(OFFSET_KEY);
            writeString(out, group);
            writeString(out, topic);
            out.writeInt(partition);
        });
    }

    private static byte[] groupKey(String group) {
        return CoordinatorBytes.write(out -> {
            out.writeShort(GROUP_KEY);
            writeString(out, group);
        });
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        writeBytes(out, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length == -1) {
            return null;
        }
        return new String(readExactly(in, length), StandardCharsets.UTF_8);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        return readExactly(in, in.readInt());
    }

    private static byte[] readExactly(DataInputStream in, int length) throws IOException {
        return CoordinatorBytes.readExactly(in, length);
    }
}
