package io.tributary.bench;

import io.tributary.node.handlers.FetchHandler;
import io.tributary.node.handlers.FileSliceRecords;
import io.tributary.node.handlers.RequestContext;
import io.tributary.storage.FileSlice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.network.Send;
import org.apache.kafka.common.network.TransferableChannel;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.SendBuilder;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.requests.ResponseHeader;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A consumer's Fetch below the wire: {@code FetchHandler} (the read from the log up to the high watermark) and the
 * response framed as the node sends it (kafka-clients' {@code SendBuilder}, the bytes drained by a channel that only
 * counts them, in place of the socket). The log holds {@code logMiB} of 1 KiB records in 16-record batches, in the
 * page cache; each operation fetches the next {@code fetchKiB} from where the previous one stopped, wrapping at the
 * end, as one partition of a consumer reading from the beginning (max.partition.fetch.bytes). records/s = ops/s x
 * records per fetch (printed at set-up); allocation per record = {@code gc.alloc.rate.norm} / records per fetch.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
public class FetchBenchmark {
    @Param({"256"})
    public int logMiB;
    @Param({"1024"})
    public int fetchKiB;

    private Fixture fixture;
    private FetchHandler handler;
    private RequestHeader header;
    private long logEnd;
    private int batchBytes;
    private long next;
    private final CountingChannel socket = new CountingChannel();

    @Setup(Level.Trial)
    public void open() throws Exception {
        fixture = new Fixture();
        handler = new FetchHandler(fixture.services);
        header = new RequestHeader(ApiKeys.FETCH, (short) 12, "bench", 1);
        ByteBuffer batch = Fixture.batch(16, 1024, 7);
        batchBytes = batch.remaining();
        long batches = (long) logMiB * 1024 * 1024 / batch.remaining();
        for (long i = 0; i < batches; i++) {
            fixture.replicas.appendAsLeader(Fixture.PARTITION, -1, batch.duplicate(), 1).result();
        }
        logEnd = fixture.replicas.partition(Fixture.PARTITION).log().logEndOffset();
        FetchResponseData first = fetch(0);
        int size = partition(first).records().sizeInBytes();
        send(first); // closes what the read opened, as a connection does once it has written the response
        System.out.printf("%nlog: %d records; one fetch: %d records, %d bytes%n", logEnd,
                size / batchBytes * 16, size);
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        fixture.close();
    }

    @Benchmark
    public long consumerFetch() throws Exception {
        FetchResponseData response = fetch(next);
        FetchResponseData.PartitionData p = partition(response);
        long bytes = send(response);
        // every batch is 16 records of the same size: the next fetch starts after the whole batches returned
        next += (long) p.records().sizeInBytes() / batchBytes * 16;
        if (next >= logEnd) {
            next = 0;
        }
        return bytes;
    }

    private FetchResponseData fetch(long offset) throws Exception {
        FetchRequestData request = new FetchRequestData().setMaxWaitMs(0).setMinBytes(1)
                .setMaxBytes(fetchKiB * 1024).setIsolationLevel((byte) 0).setSessionId(0).setSessionEpoch(-1)
                .setReplicaId(-1);
        FetchRequestData.FetchTopic topic = new FetchRequestData.FetchTopic().setTopic(Fixture.TOPIC)
                .setTopicId(Uuid.ZERO_UUID);
        topic.partitions().add(new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(offset)
                .setPartitionMaxBytes(fetchKiB * 1024).setCurrentLeaderEpoch(-1).setLogStartOffset(-1));
        request.topics().add(topic);
        return (FetchResponseData) handler.handle(new RequestContext(header, "127.0.0.1:1"), request).get();
    }

    private long send(FetchResponseData response) throws IOException {
        Send send = SendBuilder.buildResponseSend(new ResponseHeader(1, header.apiKey().responseHeaderVersion(
                header.apiVersion())), response, header.apiVersion());
        long before = socket.written;
        while (!send.completed()) {
            send.writeTo(socket);
        }
        return socket.written - before;
    }

    private static FetchResponseData.PartitionData partition(FetchResponseData response) {
        FetchResponseData.PartitionData p = response.responses().get(0).partitions().get(0);
        if (p.errorCode() != 0) {
            throw new IllegalStateException("fetch error " + p.errorCode());
        }
        return p;
    }

    /** Takes every byte written (as a socket with room would) and counts them. */
    private static final class CountingChannel implements TransferableChannel, FileSliceRecords.Sink {
        long written;

        @Override
        public long write(ByteBuffer[] sources, int offset, int length) {
            long n = 0;
            for (int i = offset; i < offset + length; i++) {
                n += write(sources[i]);
            }
            return n;
        }

        @Override
        public long write(ByteBuffer[] sources) {
            return write(sources, 0, sources.length);
        }

        @Override
        public int write(ByteBuffer source) {
            int n = source.remaining();
            source.position(source.limit());
            written += n;
            return n;
        }

        @Override
        public boolean hasPendingWrites() {
            return false;
        }

        @Override
        public void add(FileSlice slice, long offset, long count) {
            // a segment-file slice: the connection hands it to the kernel (sendfile) and releases it once written
            written += count;
            slice.release();
        }

        @Override
        public long transferFrom(FileChannel file, long position, long count) throws IOException {
            throw new UnsupportedOperationException("a fetch response sends slices only");
        }

        @Override
        public boolean isOpen() {
            return true;
        }

        @Override
        public void close() {
        }
    }
}
