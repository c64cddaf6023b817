package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.node.group.GroupService;
import io.tributary.node.txn.InitProducerIdResult;
import io.tributary.node.txn.ListTransactionsResult;
import io.tributary.node.txn.TransactionMarkerWriter;
import io.tributary.node.txn.TransactionMetadata;
import io.tributary.node.txn.TransactionService;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.AddOffsetsToTxnRequestData;
import org.apache.kafka.common.message.AddOffsetsToTxnResponseData;
import org.apache.kafka.common.message.AddPartitionsToTxnRequestData;
import org.apache.kafka.common.message.AddPartitionsToTxnResponseData;
import org.apache.kafka.common.message.DescribeTransactionsRequestData;
import org.apache.kafka.common.message.DescribeTransactionsResponseData;
import org.apache.kafka.common.message.EndTxnRequestData;
import org.apache.kafka.common.message.EndTxnResponseData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.ListTransactionsRequestData;
import org.apache.kafka.common.message.ListTransactionsResponseData;
import org.apache.kafka.common.message.WriteTxnMarkersRequestData;
import org.apache.kafka.common.message.WriteTxnMarkersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.requests.TransactionResult;

/**
 * The transaction APIs (KIP-98, KIP-360, KIP-588, KIP-664), transactions v1: clients add partitions explicitly, so
 * AddPartitionsToTxn, AddOffsetsToTxn and EndTxn are served up to the last version before KIP-890's transactions v2,
 * and the {@code transaction.version} feature is not advertised (4.x clients then use v1). Each request goes to the
 * coordinator of the id's {@code __transaction_state} partition through {@link TransactionService}, which answers
 * NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS when this node cannot serve it; WriteTxnMarkers (what
 * {@code kafka-transactions abort} sends to a partition leader) writes markers here. Errors and ACL checks are
 * Kafka's (KafkaApis).
 */
public final class TransactionHandlers {

    private TransactionHandlers() {}

    /** The transaction handlers of a node (InitProducerId with a transactional id is in InitProducerIdHandler). */
    public static List<ApiHandler> all(NodeServices node, TransactionService txns, GroupService groups,
            TransactionMarkerWriter markers) {
        return List.of(
                new SimpleHandler(ApiKeys.ADD_PARTITIONS_TO_TXN, 0, 3,
                        (ctx, msg) -> addPartitions(node, txns, ctx, (AddPartitionsToTxnRequestData) msg)),
                new SimpleHandler(ApiKeys.ADD_OFFSETS_TO_TXN, 0, 3,
                        (ctx, msg) -> addOffsets(node, txns, groups, ctx, (AddOffsetsToTxnRequestData) msg)),
                new SimpleHandler(ApiKeys.END_TXN, 0, 4, (ctx, msg) -> endTxn(node, txns, ctx, (EndTxnRequestData) msg)),
                new SimpleHandler(ApiKeys.WRITE_TXN_MARKERS, 1, 2,
                        (ctx, msg) -> writeMarkers(node, markers, ctx, (WriteTxnMarkersRequestData) msg)),
                new SimpleHandler(ApiKeys.DESCRIBE_TRANSACTIONS, 0, 0,
                        (ctx, msg) -> describe(node, txns, ctx, (DescribeTransactionsRequestData) msg)),
                new SimpleHandler(ApiKeys.LIST_TRANSACTIONS, 0, 2,
                        (ctx, msg) -> list(node, txns, ctx, (ListTransactionsRequestData) msg)));
    }

    private static boolean writeOnId(NodeServices node, RequestContext ctx, String transactionalId) {
        return node.allowed(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId);
    }

    /** KIP-588: clients below these versions know only INVALID_PRODUCER_EPOCH. */
    private static Errors forVersion(Errors error, boolean knowsFenced) {
        return error == Errors.PRODUCER_FENCED && !knowsFenced ? Errors.INVALID_PRODUCER_EPOCH : error;
    }

    /** The Kafka error of a failed coordinator call (routing); rethrows anything else. */
    private static Errors errorOf(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof TransactionService.NotServedException e) {
            return e.error();
        }
        if (cause instanceof RuntimeException re) {
            throw re;
        }
        throw new CompletionException(cause);
    }

    // ---- InitProducerId with a transactional id ----

    static CompletableFuture<ApiMessage> initProducerId(NodeServices node, TransactionService txns,
            RequestContext ctx, InitProducerIdRequestData req) {
        InitProducerIdResponseData response = new InitProducerIdResponseData().setProducerId(-1)
                .setProducerEpoch((short) -1);
        if (!writeOnId(node, ctx, req.transactionalId())) {
            return CompletableFuture.completedFuture(
                    response.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()));
        }
        if (req.transactionalId().isEmpty()) {
            return CompletableFuture.completedFuture(response.setErrorCode(Errors.INVALID_REQUEST.code()));
        }
        boolean knowsFenced = ctx.apiVersion() >= 4;
        return txns.call(req.transactionalId(), c -> c.run(c.coordinator().initProducerId(req.transactionalId(),
                req.transactionTimeoutMs(), req.producerId(), req.producerEpoch(), c.nowMs()),
                error -> new InitProducerIdResult(error, -1, (short) -1)),
                () -> new InitProducerIdResult(Errors.NOT_COORDINATOR, -1, (short) -1))
                .handle((result, e) -> {
                    Errors error = e != null ? errorOf(e) : result.error();
                    if (error != Errors.NONE) {
                        return response.setErrorCode(forVersion(error, knowsFenced).code());
                    }
                    return response.setErrorCode(Errors.NONE.code()).setProducerId(result.producerId())
                            .setProducerEpoch(result.producerEpoch());
                });
    }

    // ---- AddPartitionsToTxn (v0-3) ----

    private static CompletableFuture<AddPartitionsToTxnResponseData> addPartitions(NodeServices node,
            TransactionService txns, RequestContext ctx, AddPartitionsToTxnRequestData req) {
        String id = req.v3AndBelowTransactionalId();
        Map<TopicPartition, Errors> refused = new LinkedHashMap<>();
        List<TopicPartition> partitions = new ArrayList<>();
        for (AddPartitionsToTxnRequestData.AddPartitionsToTxnTopic topic : req.v3AndBelowTopics()) {
            for (int p : topic.partitions()) {
                partitions.add(new TopicPartition(topic.name(), p));
            }
        }
        if (!writeOnId(node, ctx, id)) {
            return CompletableFuture.completedFuture(resultsOf(partitions, tp ->
                    Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
        }
        for (TopicPartition tp : partitions) {
            TopicImage topic = node.metadata().image().topic(tp.topic());
            if (!node.allowedOnTopic(ctx, AclOperation.WRITE, tp.topic())) {
                refused.put(tp, Errors.TOPIC_AUTHORIZATION_FAILED);
            } else if (topic == null || tp.partition() < 0 || tp.partition() >= topic.partitions().size()) {
                refused.put(tp, Errors.UNKNOWN_TOPIC_OR_PARTITION);
            }
        }
        if (!refused.isEmpty()) {
            // Kafka: nothing is added if any partition is refused; the others were not attempted.
            return CompletableFuture.completedFuture(resultsOf(partitions, tp ->
                    refused.getOrDefault(tp, Errors.OPERATION_NOT_ATTEMPTED)));
        }
        boolean knowsFenced = ctx.apiVersion() >= 2;
        return txns.call(id, c -> c.run(c.coordinator().addPartitionsToTxn(id, req.v3AndBelowProducerId(),
                req.v3AndBelowProducerEpoch(), partitions, c.nowMs()), error -> error), () -> Errors.NOT_COORDINATOR)
                .handle((error, e) -> {
                    Errors result = forVersion(e != null ? errorOf(e) : error, knowsFenced);
                    return resultsOf(partitions, tp -> result);
                });
    }

    private static AddPartitionsToTxnResponseData resultsOf(List<TopicPartition> partitions,
            java.util.function.Function<TopicPartition, Errors> errorOf) {
        AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResultCollection topics =
                new AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResultCollection();
        for (TopicPartition tp : partitions) {
            AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult topic = topics.find(tp.topic());
            if (topic == null) {
                topic = new AddPartitionsToTxnResponseData.AddPartitionsToTxnTopicResult().setName(tp.topic());
                topics.add(topic);
            }
            if (topic.resultsByPartition().find(tp.partition()) == null) {
                topic.resultsByPartition().add(new AddPartitionsToTxnResponseData.AddPartitionsToTxnPartitionResult()
                        .setPartitionIndex(tp.partition()).setPartitionErrorCode(errorOf.apply(tp).code()));
            }
        }
        return new AddPartitionsToTxnResponseData().setResultsByTopicV3AndBelow(topics);
    }

    // ---- AddOffsetsToTxn (v0-3) ----

    private static CompletableFuture<AddOffsetsToTxnResponseData> addOffsets(NodeServices node,
            TransactionService txns, GroupService groups, RequestContext ctx, AddOffsetsToTxnRequestData req) {
        AddOffsetsToTxnResponseData response = new AddOffsetsToTxnResponseData();
        if (!writeOnId(node, ctx, req.transactionalId())) {
            return CompletableFuture.completedFuture(
                    response.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()));
        }
        if (!node.allowedOnGroup(ctx, AclOperation.READ, req.groupId())) {
            return CompletableFuture.completedFuture(response.setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()));
        }
        TopicPartition offsets = new TopicPartition(GroupService.TOPIC, groups.partitionFor(req.groupId()));
        boolean knowsFenced = ctx.apiVersion() >= 2;
        return txns.call(req.transactionalId(), c -> c.run(c.coordinator().addOffsetsToTxn(req.transactionalId(),
                req.producerId(), req.producerEpoch(), offsets, c.nowMs()), error -> error),
                () -> Errors.NOT_COORDINATOR)
                .handle((error, e) -> response.setErrorCode(
                        forVersion(e != null ? errorOf(e) : error, knowsFenced).code()));
    }

    // ---- EndTxn (v0-4) ----

    private static CompletableFuture<EndTxnResponseData> endTxn(NodeServices node, TransactionService txns,
            RequestContext ctx, EndTxnRequestData req) {
        EndTxnResponseData response = new EndTxnResponseData();
        if (!writeOnId(node, ctx, req.transactionalId())) {
            return CompletableFuture.completedFuture(
                    response.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code()));
        }
        boolean knowsFenced = ctx.apiVersion() >= 2;
        TransactionResult result = req.committed() ? TransactionResult.COMMIT : TransactionResult.ABORT;
        return txns.call(req.transactionalId(), c -> c.run(c.coordinator().endTxn(req.transactionalId(),
                req.producerId(), req.producerEpoch(), result, c.nowMs()), error -> error),
                () -> Errors.NOT_COORDINATOR)
                .handle((error, e) -> response.setErrorCode(
                        forVersion(e != null ? errorOf(e) : error, knowsFenced).code()));
    }

    // ---- WriteTxnMarkers (v1-2): kafka-transactions abort, or any client with CLUSTER_ACTION ----

    private static CompletableFuture<WriteTxnMarkersResponseData> writeMarkers(NodeServices node,
            TransactionMarkerWriter markers, RequestContext ctx, WriteTxnMarkersRequestData req) {
        boolean allowed = node.allowedOnCluster(ctx, AclOperation.CLUSTER_ACTION);
        List<CompletableFuture<WriteTxnMarkersResponseData.WritableTxnMarkerResult>> results = new ArrayList<>();
        int total = 0;
        for (WriteTxnMarkersRequestData.WritableTxnMarker marker : req.markers()) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (WriteTxnMarkersRequestData.WritableTxnMarkerTopic topic : marker.topics()) {
                for (int p : topic.partitionIndexes()) {
                    partitions.add(new TopicPartition(topic.name(), p));
                }
            }
            total += partitions.size();
            if (!allowed || total > TransactionMarkerWriter.MAX_PARTITIONS) {
                Errors error = allowed ? Errors.INVALID_REQUEST : Errors.CLUSTER_AUTHORIZATION_FAILED;
                results.add(CompletableFuture.completedFuture(markerResult(marker.producerId(), partitions,
                        tp -> error)));
                continue;
            }
            results.add(markers.write(marker.producerId(), marker.producerEpoch(), marker.transactionResult(),
                    marker.coordinatorEpoch(), partitions)
                    .thenApply(errors -> markerResult(marker.producerId(), partitions,
                            tp -> errors.getOrDefault(tp, Errors.UNKNOWN_SERVER_ERROR))));
        }
        return CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).thenApply(v -> {
            WriteTxnMarkersResponseData response = new WriteTxnMarkersResponseData();
            for (CompletableFuture<WriteTxnMarkersResponseData.WritableTxnMarkerResult> r : results) {
                response.markers().add(r.join());
            }
            return response;
        });
    }

    private static WriteTxnMarkersResponseData.WritableTxnMarkerResult markerResult(long producerId,
            List<TopicPartition> partitions, java.util.function.Function<TopicPartition, Errors> errorOf) {
        Map<String, WriteTxnMarkersResponseData.WritableTxnMarkerTopicResult> topics = new LinkedHashMap<>();
        for (TopicPartition tp : partitions) {
            topics.computeIfAbsent(tp.topic(), t -> new WriteTxnMarkersResponseData.WritableTxnMarkerTopicResult()
                    .setName(t)).partitions().add(new WriteTxnMarkersResponseData.WritableTxnMarkerPartitionResult()
                            .setPartitionIndex(tp.partition()).setErrorCode(errorOf.apply(tp).code()));
        }
        return new WriteTxnMarkersResponseData.WritableTxnMarkerResult().setProducerId(producerId)
                .setTopics(new ArrayList<>(topics.values()));
    }

    // ---- DescribeTransactions (v0) and ListTransactions (v0-2) ----

    private static CompletableFuture<DescribeTransactionsResponseData> describe(NodeServices node,
            TransactionService txns, RequestContext ctx, DescribeTransactionsRequestData req) {
        List<CompletableFuture<DescribeTransactionsResponseData.TransactionState>> states = new ArrayList<>();
        for (String id : req.transactionalIds()) {
            DescribeTransactionsResponseData.TransactionState state =
                    new DescribeTransactionsResponseData.TransactionState().setTransactionalId(id)
                            .setTransactionState("").setProducerId(-1).setProducerEpoch((short) -1);
            if (!node.allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id)) {
                states.add(CompletableFuture.completedFuture(
                        state.setErrorCode(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code())));
                continue;
            }
            states.add(txns.call(id, c -> CompletableFuture.completedFuture(c.coordinator().describe(id)),
                    () -> null).handle((found, e) -> {
                        if (e != null || found == null) {
                            return state.setErrorCode((e != null ? errorOf(e) : Errors.NOT_COORDINATOR).code());
                        }
                        if (found.isEmpty()) {
                            return state.setErrorCode(Errors.TRANSACTIONAL_ID_NOT_FOUND.code());
                        }
                        return describeOf(node, ctx, state, found.get());
                    }));
        }
        return CompletableFuture.allOf(states.toArray(CompletableFuture[]::new)).thenApply(v -> {
            DescribeTransactionsResponseData response = new DescribeTransactionsResponseData();
            states.forEach(s -> response.transactionStates().add(s.join()));
            return response;
        });
    }

    private static DescribeTransactionsResponseData.TransactionState describeOf(NodeServices node,
            RequestContext ctx, DescribeTransactionsResponseData.TransactionState state, TransactionMetadata m) {
        state.setErrorCode(Errors.NONE.code()).setTransactionState(m.state().kafkaName())
                .setTransactionTimeoutMs(m.txnTimeoutMs()).setTransactionStartTimeMs(m.txnStartTimestampMs())
                .setProducerId(m.producerId()).setProducerEpoch(m.producerEpoch());
        Map<String, DescribeTransactionsResponseData.TopicData> topics = new LinkedHashMap<>();
        for (TopicPartition tp : m.partitions()) {
            // Kafka lists only the topics the caller may DESCRIBE.
            if (node.allowedOnTopic(ctx, AclOperation.DESCRIBE, tp.topic())) {
                topics.computeIfAbsent(tp.topic(), t -> new DescribeTransactionsResponseData.TopicData().setTopic(t))
                        .partitions().add(tp.partition());
            }
        }
        state.topics().addAll(topics.values());
        return state;
    }

    private static CompletableFuture<ListTransactionsResponseData> list(NodeServices node, TransactionService txns,
            RequestContext ctx, ListTransactionsRequestData req) {
        Pattern pattern;
        try {
            pattern = req.transactionalIdPattern() == null || req.transactionalIdPattern().isEmpty() ? null
                    : Pattern.compile(req.transactionalIdPattern());
        } catch (PatternSyntaxException e) {
            return CompletableFuture.completedFuture(
                    new ListTransactionsResponseData().setErrorCode(Errors.INVALID_REGULAR_EXPRESSION.code()));
        }
        long[] now = new long[1];
        return txns.allLoaded().thenCompose(loaded -> txns.callAll(c -> c.listTransactions(req.stateFilters(),
                req.producerIdFilters(), req.durationFilter(), now[0]), now).thenApply(results -> {
                    ListTransactionsResponseData response = new ListTransactionsResponseData()
                            .setErrorCode(loaded ? Errors.NONE.code() : Errors.COORDINATOR_LOAD_IN_PROGRESS.code());
                    Set<String> unknown = new HashSet<>();
                    for (ListTransactionsResult r : results) {
                        unknown.addAll(r.unknownStateFilters());
                        for (ListTransactionsResult.Listing l : r.transactions()) {
                            if ((pattern == null || pattern.matcher(l.transactionalId()).matches())
                                    && node.allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID,
                                            l.transactionalId())) {
                                response.transactionStates().add(new ListTransactionsResponseData.TransactionState()
                                        .setTransactionalId(l.transactionalId()).setProducerId(l.producerId())
                                        .setTransactionState(l.state()));
                            }
                        }
                    }
                    response.setUnknownStateFilters(new ArrayList<>(unknown));
                    return response;
                }));
    }
}
