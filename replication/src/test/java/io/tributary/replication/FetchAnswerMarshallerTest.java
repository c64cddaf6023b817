package io.tributary.replication;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.internal.CompositeReadableBuffer;
import io.grpc.internal.ReadableBuffers;
import io.grpc.protobuf.ProtoUtils;
import io.tributary.proto.replication.PartitionData;
import io.tributary.proto.replication.ReplicaFetchResponse;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link FetchAnswerMarshaller}: an answer parses to the message the leader sent, whichever way gRPC hands over its
 * bytes, with each partition's records a direct view of the thread's parse buffer (not a copy); answers over the
 * reuse bound are parsed into memory of their own.
 */
class FetchAnswerMarshallerTest {
    private static final int REUSE_UP_TO = 256 * 1024;
    private final FetchAnswerMarshaller marshaller = new FetchAnswerMarshaller(REUSE_UP_TO);

    @Test
    void anAnswerFromAnyStreamParsesToWhatWasSentWithItsRecordsAliased() throws Exception {
        ReplicaFetchResponse sent = answer(3, 20_000, 1);
        byte[] wire = sent.toByteArray();

        // gRPC's own message stream (a protobuf stream: read through byte arrays)
        ReplicaFetchResponse fromProtoStream = marshaller.parse(
                ProtoUtils.marshaller(ReplicaFetchResponse.getDefaultInstance()).stream(sent));
        assertThat(fromProtoStream).isEqualTo(sent);
        assertAliased(fromProtoStream);

        // network buffers exposed as ByteBuffers, the message split across three of them as frames arrive
        ReplicaFetchResponse fromBuffers = marshaller.parse(splitStream(wire, 7, wire.length / 2));
        assertThat(fromBuffers).isEqualTo(sent);
        assertAliased(fromBuffers);
    }

    @Test
    void theNextAnswerOnTheThreadParsesCorrectlyIntoTheSameBuffer() throws Exception {
        ReplicaFetchResponse first = answer(2, 10_000, 2);
        ReplicaFetchResponse second = answer(4, 30_000, 3);

        ReplicaFetchResponse parsedFirst = marshaller.parse(splitStream(first.toByteArray(), 100, 200));
        assertThat(parsedFirst).isEqualTo(first);
        ReplicaFetchResponse parsedSecond = marshaller.parse(splitStream(second.toByteArray(), 100, 200));

        assertThat(parsedSecond).isEqualTo(second);
        assertAliased(parsedSecond);
    }

    @Test
    void anAnswerOverTheReuseBoundIsParsedIntoItsOwnMemory() throws Exception {
        ReplicaFetchResponse sent = answer(1, REUSE_UP_TO + 1, 4);

        ReplicaFetchResponse parsed = marshaller.parse(splitStream(sent.toByteArray(), 10, 20));

        assertThat(parsed).isEqualTo(sent);
        assertThat(parsed.getPartitions(0).getRecords().asReadOnlyByteBuffer().isDirect()).isFalse();
    }

    @Test
    void theReuseBoundIsCappedWhateverTheFetchSize() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> new FetchAnswerMarshaller(FetchAnswerMarshaller.MAX_REUSED_BYTES + 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(FetchAnswerMarshaller.fetchMethod(FetchAnswerMarshaller.MAX_REUSED_BYTES).getFullMethodName())
                .endsWith("/Fetch");
    }

    private static void assertAliased(ReplicaFetchResponse parsed) {
        for (PartitionData data : parsed.getPartitionsList()) {
            assertThat(data.getRecords().asReadOnlyByteBuffer().isDirect())
                    .as("records of %s-%d are a view of the parse buffer", data.getTopic(), data.getPartition())
                    .isTrue();
        }
    }

    private static ReplicaFetchResponse answer(int partitions, int recordBytes, long seed) {
        Random random = new Random(seed);
        ReplicaFetchResponse.Builder answer = ReplicaFetchResponse.newBuilder();
        for (int p = 0; p < partitions; p++) {
            byte[] records = new byte[recordBytes];
            random.nextBytes(records);
            answer.addPartitions(PartitionData.newBuilder().setTopic("t").setPartition(p).setHighWatermark(100 + p)
                    .setLogStartOffset(p).setRecords(ByteString.copyFrom(records)));
        }
        return answer.build();
    }

    /** {@code wire} as gRPC's deframer hands it over: one stream over three buffers cut at {@code cuts}. */
    private static InputStream splitStream(byte[] wire, int firstCut, int secondCut) {
        CompositeReadableBuffer composite = new CompositeReadableBuffer();
        composite.addBuffer(ReadableBuffers.wrap(ByteBuffer.wrap(wire, 0, firstCut).slice()));
        composite.addBuffer(ReadableBuffers.wrap(ByteBuffer.wrap(wire, firstCut, secondCut - firstCut).slice()));
        composite.addBuffer(ReadableBuffers.wrap(ByteBuffer.wrap(wire, secondCut, wire.length - secondCut).slice()));
        return ReadableBuffers.openStream(composite, true);
    }
}
