package reliability.txn;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Transactional producers and read_committed consumers. Producer i (transactional id txn-p&lt;i&gt;) runs
 * transaction after transaction; transaction p&lt;i&gt;-&lt;k&gt; writes the value "p&lt;i&gt;-&lt;k&gt;:&lt;partition&gt;" to each of
 * TXN_PARTITIONS random partitions, then commits, or aborts when k % ABORT_EVERY == ABORT_EVERY - 1. Outcome:
 * COMMITTED (commitTransaction returned), ABORTED (abortTransaction returned) or UNKNOWN (anything threw; the
 * producer is closed and a new instance with the same transactional id is initialised, which resolves the old
 * transaction). A TimeoutException from commit/abort is retried END_TXN_RETRIES times with the same instance.
 * Consumers assign every partition (no group), read from the beginning and record every record; they flag at once
 * a record whose transaction was never asked to commit (or was aborted) and a partition whose offsets go back.
 */
final class TxnWorkload {
    static final String COMMITTED = "COMMITTED", ABORTED = "ABORTED", UNKNOWN = "UNKNOWN", PENDING = "PENDING";

    private final Main.Cfg cfg;
    private final Map<String, Txn> txns = new ConcurrentHashMap<>();
    private final AtomicLong committed = new AtomicLong(), aborted = new AtomicLong(), unknown = new AtomicLong(),
            consumed = new AtomicLong(), liveAnomalies = new AtomicLong();
    private final java.util.concurrent.CountDownLatch ready, go = new java.util.concurrent.CountDownLatch(1);
    private volatile long endMs;

    TxnWorkload(Main.Cfg cfg) { this.cfg = cfg; this.ready = new java.util.concurrent.CountDownLatch(cfg.producers); }

    static String txnOf(String value) {
        int i = value.indexOf(':');
        return i < 0 ? value : value.substring(0, i);
    }

    /** One transaction. Set by its producer thread; read by consumers (volatile fields). */
    static final class Txn {
        final String name;
        final int producer, incarnation;
        final long seq, startMs;
        final int[] parts;
        final long[] offsets;
        final boolean abortIntent;
        volatile boolean commitRequested;
        volatile String outcome = PENDING, error = "-";
        volatile long endMs = -1;

        Txn(int producer, int incarnation, long seq, int[] parts, boolean abortIntent) {
            this.producer = producer; this.incarnation = incarnation; this.seq = seq; this.parts = parts;
            this.abortIntent = abortIntent; this.name = "p" + producer + "-" + seq;
            this.offsets = new long[parts.length];
            java.util.Arrays.fill(offsets, -1);
            this.startMs = System.currentTimeMillis();
        }

        String value(int i) { return name + ":" + parts[i]; }
    }

    interface Call { void run() throws Exception; }

    final class Producer implements Runnable {
        final int index;
        final Random rnd;
        final List<Txn> history = new ArrayList<>();
        int incarnation = -1;
        final Map<String, Long> errors = new HashMap<>();

        Producer(int index) {
            this.index = index; this.rnd = new Random(cfg.seed * 1_000_003L + index);
        }

        /** A new producer instance whose initTransactions returned, or null if none could be made by deadline. */
        KafkaProducer<String, String> open(long deadline) throws InterruptedException {
            while (System.currentTimeMillis() < deadline) {
                KafkaProducer<String, String> p = new KafkaProducer<>(cfg.producerProps(index, ++incarnation));
                try {
                    while (true) {
                        try { p.initTransactions(); return p; }
                        catch (TimeoutException e) {          // may be retried (javadoc)
                            count("init:" + e.getClass().getSimpleName());
                            if (System.currentTimeMillis() >= deadline) throw e;
                        }
                    }
                } catch (Exception e) {
                    count("init:" + e.getClass().getSimpleName());
                    p.close(Duration.ZERO);
                    Thread.sleep(500);
                }
            }
            return null;
        }

        void count(String e) { errors.merge(e, 1L, Long::sum); }

        /** commitTransaction / abortTransaction: a TimeoutException may be retried (javadoc), a few times. */
        void endTxn(Call c) throws Exception {
            for (int a = 0; ; a++) {
                try { c.run(); return; }
                catch (TimeoutException e) {
                    count("end:" + e.getClass().getSimpleName());
                    if (a >= cfg.endRetries) throw e;
                }
            }
        }

        int[] choosePartitions() {
            List<Integer> all = new ArrayList<>();
            for (int i = 0; i < cfg.partitions; i++) all.add(i);
            java.util.Collections.shuffle(all, rnd);
            return all.subList(0, Math.min(cfg.perTxn, cfg.partitions)).stream().sorted().mapToInt(Integer::intValue).toArray();
        }

        @Override public void run() {
            KafkaProducer<String, String> p = null;
            long periodNs = cfg.rate > 0 ? (long) (1e9 / cfg.rate) : 0, next = System.nanoTime();
            long seq = 0;
            try {
                // warm-up before the clock starts: the first initTransactions may create __transaction_state
                p = open(System.currentTimeMillis() + 180_000L);
                ready.countDown();
                go.await();
                next = System.nanoTime();
                while (System.currentTimeMillis() < endMs) {
                    if (p == null && (p = open(endMs)) == null) break;
                    long wait = next - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    next = Math.max(next + periodNs, System.nanoTime() - 1_000_000_000L);   // no burst after a stall
                    boolean abort = cfg.abortEvery > 0 && seq % cfg.abortEvery == cfg.abortEvery - 1;
                    Txn t = new Txn(index, incarnation, seq++, choosePartitions(), abort);
                    txns.put(t.name, t);
                    synchronized (history) { history.add(t); }
                    final KafkaProducer<String, String> prod = p;
                    try {
                        prod.beginTransaction();
                        List<Future<RecordMetadata>> fs = new ArrayList<>();
                        for (int i = 0; i < t.parts.length; i++) {
                            fs.add(prod.send(new ProducerRecord<>(cfg.topic, t.parts[i], null, t.value(i))));
                        }
                        if (abort) {
                            prod.flush();                        // so the records reach the log before the abort
                            endTxn(prod::abortTransaction);
                            t.endMs = System.currentTimeMillis();
                            t.outcome = ABORTED;
                            aborted.incrementAndGet();
                        } else {
                            t.commitRequested = true;            // before the call: consumers compare against it
                            endTxn(prod::commitTransaction);
                            t.endMs = System.currentTimeMillis();
                            for (int i = 0; i < fs.size(); i++) {
                                try { t.offsets[i] = fs.get(i).get(1, TimeUnit.SECONDS).offset(); } catch (Exception e) { /* keep -1 */ }
                            }
                            t.outcome = COMMITTED;
                            committed.incrementAndGet();
                        }
                    } catch (InterruptedException e) {
                        throw e;
                    } catch (Exception e) {
                        t.endMs = System.currentTimeMillis();
                        t.error = e.getClass().getSimpleName();
                        t.outcome = UNKNOWN;
                        unknown.incrementAndGet();
                        count(e.getClass().getSimpleName());
                        System.err.printf("%s: %s %s -> UNKNOWN (%s); new producer%n", cfg.txnId(index), t.name,
                                abort ? "abort" : "commit", e);
                        prod.close(Duration.ZERO);
                        p = null;
                    }
                }
                // the last transaction left UNKNOWN: a new instance's initTransactions resolves it, as in the run
                if (p == null) {
                    p = open(System.currentTimeMillis() + cfg.resolveS * 1000L);
                    System.err.printf("%s: final initTransactions %s%n", cfg.txnId(index), p == null ? "FAILED" : "done");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                if (p != null) p.close(Duration.ofSeconds(10));
            }
        }
    }

    record Read(String consumer, int partition, long offset, String value, long ms, boolean early) { }

    final class Reader implements Runnable {
        final String name;
        final List<Read> reads = new ArrayList<>();
        final Map<Integer, Long> last = new HashMap<>();
        volatile boolean stop;
        volatile KafkaConsumer<String, String> consumer;
        long errors;

        Reader(String name) { this.name = name; }

        @Override public void run() {
            List<TopicPartition> tps = new ArrayList<>();
            for (int i = 0; i < cfg.partitions; i++) tps.add(new TopicPartition(cfg.topic, i));
            while (!stop) {
                try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cfg.consumerProps(name, true))) {
                    consumer = c;
                    c.assign(tps);
                    for (TopicPartition tp : tps) {
                        Long l = last.get(tp.partition());
                        if (l == null) c.seekToBeginning(List.of(tp)); else c.seek(tp, l + 1);
                    }
                    while (!stop) {
                        ConsumerRecords<String, String> rs = c.poll(Duration.ofMillis(250));
                        long now = System.currentTimeMillis();
                        for (ConsumerRecord<String, String> r : rs) {
                            Txn t = txns.get(txnOf(r.value()));
                            boolean early = t == null || !t.commitRequested || t.outcome.equals(ABORTED);
                            reads.add(new Read(name, r.partition(), r.offset(), r.value(), now, early));
                            Long prev = last.put(r.partition(), r.offset());
                            if (early) live("read_committed returned " + r.value() + " at " + r.partition() + "/" + r.offset() + " but "
                                    + (t == null ? "no such transaction was sent" : "transaction " + t.name + " is " + t.outcome
                                    + (t.commitRequested ? "" : ", commit never requested")));
                            if (prev != null && r.offset() <= prev) live("offset went back on partition " + r.partition() + ": "
                                    + prev + " then " + r.offset());
                        }
                        consumed.addAndGet(rs.count());
                    }
                } catch (WakeupException e) {
                    if (stop) break;
                } catch (Exception e) {
                    errors++;
                    System.err.println(name + ": " + e + " (reopening the consumer)");
                    try { Thread.sleep(500); } catch (InterruptedException ie) { return; }
                }
            }
        }

        void live(String what) {
            liveAnomalies.incrementAndGet();
            System.err.println("LIVE ANOMALY " + name + ": " + what);
        }

        void shutdown() {
            stop = true;
            KafkaConsumer<String, String> c = consumer;
            if (c != null) c.wakeup();
        }
    }

    /** Once a second: leader of each partition and coordinator of each transactional id -> observer.tsv (changes). */
    final class Observer implements Runnable {
        volatile boolean stop;

        @Override public void run() {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < cfg.producers; i++) ids.add(cfg.txnId(i));
            Map<String, String> last = new HashMap<>();
            try (Admin a = Admin.create(cfg.adminProps());
                 PrintWriter w = new PrintWriter(Files.newBufferedWriter(cfg.runDir.resolve("observer.tsv")))) {
                w.println("ms\twhat\tnode");
                while (!stop) {
                    long now = System.currentTimeMillis();
                    Map<String, String> seen = new HashMap<>();
                    try {
                        TopicDescription d = a.describeTopics(List.of(cfg.topic)).allTopicNames().get(3, TimeUnit.SECONDS).get(cfg.topic);
                        for (TopicPartitionInfo p : d.partitions()) {
                            seen.put("p" + p.partition(), p.leader() == null || p.leader().isEmpty() ? "-1" : p.leader().idString());
                        }
                    } catch (Exception e) { /* next second */ }
                    for (String id : ids) {
                        try {
                            TransactionDescription td = a.describeTransactions(List.of(id)).description(id).get(3, TimeUnit.SECONDS);
                            seen.put("coord:" + id, Integer.toString(td.coordinatorId()));
                        } catch (Exception e) { /* not yet / unavailable */ }
                    }
                    for (Map.Entry<String, String> e : seen.entrySet()) {
                        if (!e.getValue().equals(last.put(e.getKey(), e.getValue()))) w.println(now + "\t" + e.getKey() + "\t" + e.getValue());
                    }
                    w.flush();
                    long sleep = 1000 - (System.currentTimeMillis() - now);
                    if (sleep > 0) Thread.sleep(sleep);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                System.err.println("observer: " + e);
            }
        }
    }

    int run() throws Exception {
        Files.createDirectories(cfg.runDir);
        List<Reader> readers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < cfg.consumers; i++) {
            Reader r = new Reader("c" + i);
            readers.add(r);
            Thread t = new Thread(r, "reader-" + i);
            t.start();
            threads.add(t);
        }
        Observer obs = new Observer();
        Thread obsThread = new Thread(obs, "observer");
        obsThread.start();
        List<Producer> prods = new ArrayList<>();
        List<Thread> prodThreads = new ArrayList<>();
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < cfg.producers; i++) {
            Producer p = new Producer(i);
            prods.add(p);
            Thread t = new Thread(p, "producer-" + i);
            t.start();
            prodThreads.add(t);
        }
        boolean warm = ready.await(200, TimeUnit.SECONDS);
        System.out.printf("producers initialised (initTransactions) in %d ms%s%n", System.currentTimeMillis() - t0, warm ? "" : " - NOT ALL");
        long startMs = System.currentTimeMillis();
        endMs = startMs + cfg.durationS * 1000L;
        go.countDown();
        Files.writeString(cfg.runDir.resolve("started"), startMs + "\n");
        System.out.printf("txn workload started at %d: %d transactional producers (<= %.0f txn/s each, %d of %d partitions per txn, "
                + "every %d. aborted), %d read_committed consumers%n", startMs, cfg.producers, cfg.rate, cfg.perTxn, cfg.partitions,
                cfg.abortEvery, cfg.consumers);
        while (prodThreads.stream().anyMatch(Thread::isAlive)) {
            for (Thread t : prodThreads) t.join(10_000 / Math.max(1, prodThreads.size()));
            System.out.printf("t=%3ds committed=%d aborted=%d unknown=%d consumed=%d live_anomalies=%d%n",
                    (System.currentTimeMillis() - startMs) / 1000, committed.get(), aborted.get(), unknown.get(), consumed.get(),
                    liveAnomalies.get());
        }
        long producersEndMs = System.currentTimeMillis();
        Thread.sleep(cfg.drainS * 1000L);
        for (Reader r : readers) r.shutdown();
        obs.stop = true;
        for (Thread t : threads) t.join(30_000);
        obsThread.join(10_000);

        writeTxns(prods);
        writeReads(readers);
        Map<String, Long> errors = new java.util.TreeMap<>();
        for (Producer p : prods) p.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        String props = cfg.describe() + "start_ms=" + startMs + "\nend_ms=" + endMs + "\nproducers_end_ms=" + producersEndMs
                + "\ndone_ms=" + System.currentTimeMillis()
                + "\nincarnations=" + prods.stream().mapToInt(p -> p.incarnation + 1).sum()
                + "\nconsumer_errors=" + readers.stream().mapToLong(r -> r.errors).sum()
                + "\nlive_anomalies=" + liveAnomalies.get()
                + "\nerrors=" + errors.toString().replace('\n', ' ') + "\n";
        Files.writeString(cfg.runDir.resolve("run.properties"), props);
        System.out.printf("txn workload done: committed=%d aborted=%d unknown=%d consumed=%d live_anomalies=%d%n",
                committed.get(), aborted.get(), unknown.get(), consumed.get(), liveAnomalies.get());
        return 0;
    }

    private void writeTxns(List<Producer> prods) throws IOException {
        Path tmp = cfg.runDir.resolve("txns.tsv.tmp");
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(tmp))) {
            w.println("txn\tproducer\tseq\tincarnation\tpartitions\tintent\toutcome\tcommit_requested\tstart_ms\tend_ms\toffsets\terror");
            for (Producer p : prods) {
                synchronized (p.history) {
                    for (Txn t : p.history) {
                        String outcome = t.outcome;
                        if (outcome.equals(PENDING)) outcome = UNKNOWN;   // never finished (cannot happen unless interrupted)
                        StringBuilder parts = new StringBuilder(), offs = new StringBuilder();
                        for (int i = 0; i < t.parts.length; i++) {
                            parts.append(i == 0 ? "" : ",").append(t.parts[i]);
                            offs.append(i == 0 ? "" : ",").append(t.parts[i]).append('/').append(t.offsets[i]);
                        }
                        w.println(t.name + '\t' + cfg.txnId(t.producer) + '\t' + t.seq + '\t' + t.incarnation + '\t' + parts + '\t'
                                + (t.abortIntent ? "abort" : "commit") + '\t' + outcome + '\t' + (t.commitRequested ? 1 : 0) + '\t'
                                + t.startMs + '\t' + t.endMs + '\t' + offs + '\t' + t.error);
                    }
                }
            }
        }
        Files.move(tmp, cfg.runDir.resolve("txns.tsv"), StandardCopyOption.REPLACE_EXISTING);
    }

    private void writeReads(List<Reader> readers) throws IOException {
        Path tmp = cfg.runDir.resolve("reads.tsv.tmp");
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(tmp))) {
            w.println("consumer\tpartition\toffset\tvalue\tread_ms\tearly");
            for (Reader r : readers) {
                for (Read x : r.reads) {
                    w.println(x.consumer() + '\t' + x.partition() + '\t' + x.offset() + '\t' + x.value() + '\t' + x.ms() + '\t' + (x.early() ? 1 : 0));
                }
            }
        }
        Files.move(tmp, cfg.runDir.resolve("reads.tsv"), StandardCopyOption.REPLACE_EXISTING);
    }
}
