package io.tributary.node.coordinator;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The byte primitives of the coordinators' records (the group coordinator's in {@code __consumer_offsets}, the
 * transaction coordinator's in {@code __transaction_state}), in Kafka's layouts: int16-length strings, unsigned
 * varints, compact strings. Each codec keeps its own record shapes and versions; this only writes and reads the
 * fields. A malformed field is an {@link IllegalStateException} (or an {@link IOException} from the stream), which
 * each codec turns into its own error. Stateless; any thread.
 */
public final class CoordinatorBytes {

    private CoordinatorBytes() {}

    /** Writes a record's key or value into a {@link DataOutputStream}. */
    @FunctionalInterface
    public interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    /** The bytes {@code writer} writes. */
    public static byte[] write(Writer writer) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writer.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // cannot happen on a byte array
        }
        return bytes.toByteArray();
    }

    /** A non-null string with an int16 length (Kafka's STRING). */
    public static void writeShortString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > Short.MAX_VALUE) {
            throw new IllegalArgumentException("string of " + b.length + " bytes does not fit an int16 length");
        }
        out.writeShort(b.length);
        out.write(b);
    }

    /** A string with an int16 length; malformed UTF-8 is an error, never silently replaced. */
    public static String readShortString(DataInputStream in) throws IOException {
        byte[] b = readExactly(in, in.readShort());
        // CharacterCodingException is an IOException
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
    }

    /** Kafka's unsigned varint (written here: kafka-clients moves its ByteUtils between releases). */
    public static void writeUnsignedVarint(DataOutputStream out, int value) throws IOException {
        int v = value;
        while ((v & ~0x7f) != 0) {
            out.writeByte((v & 0x7f) | 0x80);
            v >>>= 7;
        }
        out.writeByte(v);
    }

    public static int readUnsignedVarint(DataInputStream in) throws IOException {
        int value = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            int b = in.readUnsignedByte();
            value |= (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new IllegalStateException("bad unsigned varint");
    }

    /** A nullable compact string (unsigned varint length + 1, 0 for null). */
    public static void writeCompactString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            writeUnsignedVarint(out, 0);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        writeUnsignedVarint(out, b.length + 1);
        out.write(b);
    }

    public static String readCompactString(DataInputStream in) throws IOException {
        int n = readUnsignedVarint(in) - 1;
        return n < 0 ? null : new String(readExactly(in, n), StandardCharsets.UTF_8);
    }

    /** The next {@code length} bytes; a negative length or one beyond what is left is an error. */
    public static byte[] readExactly(DataInputStream in, int length) throws IOException {
        if (length < 0 || length > in.available()) {
            throw new IllegalStateException("bad length " + length + " (" + in.available() + " bytes left)");
        }
        byte[] b = new byte[length];
        in.readFully(b);
        return b;
    }
}
