package io.tributary.node.txn;

/**
 * The transaction coordinator's limits, validated once here (STYLE rule 11). Names follow Kafka's broker configs;
 * the last two are Tributary's bounds (Kafka has none; TigerBeetle: put a limit on everything).
 *
 * @param transactionMaxTimeoutMs {@code transaction.max.timeout.ms}: the largest {@code transaction.timeout.ms} a
 *     producer may ask for; above it InitProducerId answers INVALID_TRANSACTION_TIMEOUT (Kafka default 900000)
 * @param transactionalIdExpirationMs {@code transactional.id.expiration.ms}: an idle transactional id (Empty or
 *     Complete*) not updated for this long is forgotten with a tombstone (7 days)
 * @param abortTimedOutTransactionsIntervalMs {@code transaction.abort.timed.out.transaction.cleanup.interval.ms}:
 *     how often {@code onTick} looks for timed-out transactions (10000)
 * @param removeExpiredTransactionalIdsIntervalMs {@code transaction.remove.expired.transaction.cleanup.interval.ms}:
 *     how often {@code onTick} looks for expired transactional ids (3600000)
 * @param maxTransactionalIdsPerPartition transactional ids one {@code __transaction_state} partition holds (durable
 *     plus being created); InitProducerId for a new id beyond it answers POLICY_VIOLATION (100000: about 30 MB of
 *     metadata at worst-case partition counts is far more than any real producer fleet per partition)
 * @param maxPartitionsPerTransaction partitions in one transaction; AddPartitionsToTxn beyond it answers
 *     POLICY_VIOLATION (1000: keeps the largest record, 1000 x (249-byte topic + 8), below Kafka's 1 MiB
 *     {@code message.max.bytes})
 */
public record TransactionCoordinatorConfig(int transactionMaxTimeoutMs, long transactionalIdExpirationMs,
        long abortTimedOutTransactionsIntervalMs, long removeExpiredTransactionalIdsIntervalMs,
        int maxTransactionalIdsPerPartition, int maxPartitionsPerTransaction) {

    public static final int DEFAULT_TRANSACTION_MAX_TIMEOUT_MS = 900_000;
    public static final long DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS = 7L * 24 * 60 * 60 * 1000;
    public static final long DEFAULT_ABORT_TIMED_OUT_TRANSACTIONS_INTERVAL_MS = 10_000;
    public static final long DEFAULT_REMOVE_EXPIRED_TRANSACTIONAL_IDS_INTERVAL_MS = 3_600_000;
    public static final int DEFAULT_MAX_TRANSACTIONAL_IDS_PER_PARTITION = 100_000;
    public static final int DEFAULT_MAX_PARTITIONS_PER_TRANSACTION = 1_000;

    public TransactionCoordinatorConfig {
        require(transactionMaxTimeoutMs >= 1, "transactionMaxTimeoutMs >= 1");
        require(transactionalIdExpirationMs >= 1, "transactionalIdExpirationMs >= 1");
        require(abortTimedOutTransactionsIntervalMs >= 0, "abortTimedOutTransactionsIntervalMs >= 0");
        require(removeExpiredTransactionalIdsIntervalMs >= 0, "removeExpiredTransactionalIdsIntervalMs >= 0");
        require(maxTransactionalIdsPerPartition >= 1, "maxTransactionalIdsPerPartition >= 1");
        require(maxPartitionsPerTransaction >= 1
                && maxPartitionsPerTransaction <= TransactionRecordCodec.MAX_PARTITIONS,
                "1 <= maxPartitionsPerTransaction <= " + TransactionRecordCodec.MAX_PARTITIONS);
    }

    public static TransactionCoordinatorConfig defaults() {
        return new TransactionCoordinatorConfig(DEFAULT_TRANSACTION_MAX_TIMEOUT_MS,
                DEFAULT_TRANSACTIONAL_ID_EXPIRATION_MS, DEFAULT_ABORT_TIMED_OUT_TRANSACTIONS_INTERVAL_MS,
                DEFAULT_REMOVE_EXPIRED_TRANSACTIONAL_IDS_INTERVAL_MS, DEFAULT_MAX_TRANSACTIONAL_IDS_PER_PARTITION,
                DEFAULT_MAX_PARTITIONS_PER_TRANSACTION);
    }

    public TransactionCoordinatorConfig withTransactionMaxTimeoutMs(int value) {
        return new TransactionCoordinatorConfig(value, transactionalIdExpirationMs,
                abortTimedOutTransactionsIntervalMs, removeExpiredTransactionalIdsIntervalMs,
                maxTransactionalIdsPerPartition, maxPartitionsPerTransaction);
    }

    public TransactionCoordinatorConfig withTransactionalIdExpirationMs(long value) {
        return new TransactionCoordinatorConfig(transactionMaxTimeoutMs, value, abortTimedOutTransactionsIntervalMs,
                removeExpiredTransactionalIdsIntervalMs, maxTransactionalIdsPerPartition,
                maxPartitionsPerTransaction);
    }

    public TransactionCoordinatorConfig withCleanupIntervals(long abortIntervalMs, long expirationIntervalMs) {
        return new TransactionCoordinatorConfig(transactionMaxTimeoutMs, transactionalIdExpirationMs, abortIntervalMs,
                expirationIntervalMs, maxTransactionalIdsPerPartition, maxPartitionsPerTransaction);
    }

    public TransactionCoordinatorConfig withLimits(int maxTransactionalIds, int maxPartitions) {
        return new TransactionCoordinatorConfig(transactionMaxTimeoutMs, transactionalIdExpirationMs,
                abortTimedOutTransactionsIntervalMs, removeExpiredTransactionalIdsIntervalMs, maxTransactionalIds,
                maxPartitions);
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new IllegalArgumentException("invalid transaction coordinator config: " + what);
        }
    }
}
