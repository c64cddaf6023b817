package reliability.txn;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Properties;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Transactional workload for the shared reliability harness (reliability/txn-run.sh drives it).
 * Plain kafka-clients, Kafka protocol only, so the same workload runs against Apache Kafka.
 *
 * <pre>
 *   run                     transactional producers + read_committed consumers for DURATION_S;
 *                           writes RUN_DIR/{txns,reads,observer}.tsv and run.properties
 *   check [no-final-read]   wait until LSO == HW everywhere (bounded), read everything read_committed and
 *                           read_uncommitted, check; prints a table and a one-line JSON summary last.
 *                           Exit 0 no anomaly, 1 anomaly, 2 final read incomplete.
 * </pre>
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) usage();
        Cfg cfg = new Cfg();
        int rc = switch (args[0]) {
            case "run" -> new TxnWorkload(cfg).run();
            case "check" -> new TxnChecker(cfg).check(!(args.length > 1 && args[1].equals("no-final-read")));
            default -> { usage(); yield 2; }
        };
        System.out.flush();
        System.exit(rc);
    }

    private static void usage() {
        System.err.println("usage: run | check [no-final-read]");
        System.exit(2);
    }

    /** Settings from the environment (txn-run.sh exports them); every one has a default. */
    static final class Cfg {
        final String bootstrap = need("BOOTSTRAP");
        final Path runDir = Paths.get(need("RUN_DIR"));
        final String topic = env("TXN_TOPIC", "txn");
        final int partitions = intEnv("PARTITIONS", 6);
        final int perTxn = intEnv("TXN_PARTITIONS", 3);          // partitions written by one transaction
        final int producers = intEnv("TXN_PRODUCERS", 3);        // transactional ids txn-p0, txn-p1, ...
        final int abortEvery = intEnv("ABORT_EVERY", 5);         // every Nth transaction is aborted on purpose
        final double rate = dblEnv("TXN_RATE", 20);              // at most this many transactions/s per producer
        final int consumers = intEnv("CONSUMERS", 2);            // read_committed readers of every partition
        final int durationS = intEnv("DURATION_S", 60);
        final int drainS = intEnv("DRAIN_S", 5);
        final long seed = Long.parseLong(env("SEED", "1"));
        final int requestTimeoutMs = intEnv("REQUEST_TIMEOUT_MS", 5000);
        final int deliveryTimeoutMs = intEnv("DELIVERY_TIMEOUT_MS", 10000);
        final int maxBlockMs = intEnv("MAX_BLOCK_MS", 10000);   // bounds init/commit/abort calls
        final int txnTimeoutMs = intEnv("TXN_TIMEOUT_MS", 20000);
        final int endRetries = intEnv("END_TXN_RETRIES", 3);     // commit/abort retried after TimeoutException
        final int resolveS = intEnv("RESOLVE_S", 60);            // after the run: initTransactions of ids left UNKNOWN
        final int hangWaitS = intEnv("HANG_WAIT_S", 120);
        final int finalReadTimeoutS = intEnv("FINAL_READ_TIMEOUT_S", 120);

        String txnId(int producer) { return "txn-p" + producer; }

        Properties producerProps(int producer, int incarnation) {
            Properties p = new Properties();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.CLIENT_ID_CONFIG, "p" + producer + "." + incarnation);
            p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId(producer));
            p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, txnTimeoutMs);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, requestTimeoutMs);
            p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, deliveryTimeoutMs);
            p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, maxBlockMs);
            return p;
        }

        Properties consumerProps(String clientId, boolean readCommitted) {
            Properties c = new Properties();
            c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            c.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
            c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, readCommitted ? "read_committed" : "read_uncommitted");
            c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            c.put(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
            c.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
            return c;
        }

        Properties adminProps() {
            Properties a = new Properties();
            a.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            a.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, 2000);
            a.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
            return a;
        }

        String describe() {
            return String.format("bootstrap=%s%ntopic=%s%npartitions=%d%npartitions_per_txn=%d%nproducers=%d%nabort_every=%d%n"
                            + "rate=%s%nconsumers=%d%nduration_s=%d%nseed=%d%nrequest_timeout_ms=%d%ndelivery_timeout_ms=%d%n"
                            + "max_block_ms=%d%ntxn_timeout_ms=%d%nend_txn_retries=%d%n",
                    bootstrap, topic, partitions, perTxn, producers, abortEvery, rate, consumers, durationS, seed,
                    requestTimeoutMs, deliveryTimeoutMs, maxBlockMs, txnTimeoutMs, endRetries);
        }

        private static String need(String k) {
            String v = System.getenv(k);
            if (v == null || v.isEmpty()) throw new IllegalArgumentException("environment variable " + k + " is required");
            return v;
        }

        static String env(String k, String d) {
            String v = System.getenv(k);
            return v == null || v.isEmpty() ? d : v;
        }

        private static int intEnv(String k, int d) { return Integer.parseInt(env(k, Integer.toString(d))); }

        private static double dblEnv(String k, double d) { return Double.parseDouble(env(k, Double.toString(d))); }
    }
}
