package io.tributary.node.txn;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.tributary.proto.txn.MarkerPartition;
import io.tributary.proto.txn.MarkerPartitionResult;
import io.tributary.proto.txn.TransactionMarkerServiceGrpc;
import io.tributary.proto.txn.WriteMarkersRequest;
import io.tributary.proto.txn.WriteMarkersResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;

/**
 * The partition leader's end of marker delivery between nodes, on the replication port (inter-node TLS applies).
 * A request naming more than {@link TransactionMarkerWriter#MAX_PARTITIONS} partitions, or an epoch out of range, is
 * refused with INVALID_ARGUMENT and nothing is written.
 */
public final class TransactionMarkerGrpcService extends TransactionMarkerServiceGrpc.TransactionMarkerServiceImplBase {

    private final TransactionMarkerWriter writer;

    public TransactionMarkerGrpcService(TransactionMarkerWriter writer) {
        this.writer = writer;
    }

    @Override
    public void writeMarkers(WriteMarkersRequest request, StreamObserver<WriteMarkersResponse> response) {
        if (request.getPartitionsCount() > TransactionMarkerWriter.MAX_PARTITIONS || request.getProducerId() < 0
                || request.getProducerEpoch() < 0 || request.getProducerEpoch() > Short.MAX_VALUE
                || request.getCoordinatorEpoch() < 0) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("bad marker request: "
                    + request.getPartitionsCount() + " partitions, producer " + request.getProducerId() + "/"
                    + request.getProducerEpoch() + ", coordinator epoch " + request.getCoordinatorEpoch())
                    .asRuntimeException());
            return;
        }
        List<TopicPartition> partitions = new ArrayList<>();
        for (MarkerPartition p : request.getPartitionsList()) {
            partitions.add(new TopicPartition(p.getTopic(), p.getPartition()));
        }
        writer.write(request.getProducerId(), (short) request.getProducerEpoch(), request.getCommit(),
                request.getCoordinatorEpoch(), partitions).whenComplete((results, e) -> {
                    WriteMarkersResponse.Builder out = WriteMarkersResponse.newBuilder();
                    for (TopicPartition tp : partitions) {
                        Errors error = e != null ? Errors.UNKNOWN_SERVER_ERROR
                                : results.getOrDefault(tp, Errors.UNKNOWN_SERVER_ERROR);
                        out.addPartitions(MarkerPartitionResult.newBuilder().setTopic(tp.topic())
                                .setPartition(tp.partition()).setErrorCode(error.code()));
                    }
                    response.onNext(out.build());
                    response.onCompleted();
                });
    }

    /** The error of each partition of a response. */
    static Map<TopicPartition, Errors> errors(WriteMarkersResponse response) {
        Map<TopicPartition, Errors> out = new java.util.HashMap<>();
        for (MarkerPartitionResult r : response.getPartitionsList()) {
            out.put(new TopicPartition(r.getTopic(), r.getPartition()), Errors.forCode((short) r.getErrorCode()));
        }
        return out;
    }
}
