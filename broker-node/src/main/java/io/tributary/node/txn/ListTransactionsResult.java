package io.tributary.node.txn;

import java.util.List;
import java.util.Objects;

/**
 * What ListTransactions reports for one {@code __transaction_state} partition: the matching transactional ids in id
 * order, and the state filters that name no state (Kafka answers those in {@code UnknownStateFilters}).
 */
public record ListTransactionsResult(List<Listing> transactions, List<String> unknownStateFilters) {

    public ListTransactionsResult {
        transactions = List.copyOf(transactions);
        unknownStateFilters = List.copyOf(unknownStateFilters);
    }

    /** One transactional id: {@code state} is Kafka's state name. */
    public record Listing(String transactionalId, long producerId, String state) {
        public Listing {
            Objects.requireNonNull(transactionalId);
            Objects.requireNonNull(state);
        }
    }
}
