package io.tributary.bench;

import io.tributary.storage.LogAppendResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
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
 * The leader's append path below the wire: {@code ReplicaManager.appendAsLeader} (leadership and acks checks,
 * validation, offset assignment, producer state, the segment write and index updates) of one producer batch, as
 * acks=1 on a single-replica partition. One operation is one batch: records/s = ops/s x {@code records}, and
 * allocation per record = {@code gc.alloc.rate.norm} / {@code records} (run with {@code -prof gc}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
public class AppendBenchmark {
    /** Records per batch: 16 x 1 KiB fills the producer's default 16 KiB batch.size. */
    @Param({"16"})
    public int records;
    @Param({"1024"})
    public int recordSize;

    private Fixture fixture;
    private ByteBuffer batch;

    @Setup(Level.Trial)
    public void open() throws IOException {
        fixture = new Fixture();
        batch = Fixture.batch(records, recordSize, 42);
    }

    /** Keeps the log small: the segments written in the last iteration go (as retention would), not the files. */
    @Setup(Level.Iteration)
    public void trim() throws IOException {
        var log = fixture.replicas.partition(Fixture.PARTITION).log();
        log.advanceLogStartOffset(log.logEndOffset());
        log.deleteRetainedSegments();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        fixture.close();
    }

    @Benchmark
    public LogAppendResult leaderAppend() {
        // the log writes the assigned offsets into the batch it is given, as into a request's buffer
        return fixture.replicas.appendAsLeader(Fixture.PARTITION, -1, batch.duplicate(), 1).result();
    }
}
