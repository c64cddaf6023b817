package io.tributary.node.handlers;

import io.tributary.metadata.BrokerRegistration;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import io.tributary.node.security.NodeAuthorizer;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/** DescribeCluster v0-v2: the cluster id, the controller and the brokers (v2: fenced ones too, when asked). */
public final class DescribeClusterHandler implements ApiHandler {

    private static final byte BROKER_ENDPOINT_TYPE = 1;

    private final NodeServices node;

    public DescribeClusterHandler(NodeServices node) {
        this.node = node;
    }

    @Override
    public ApiKeys apiKey() {
        return ApiKeys.DESCRIBE_CLUSTER;
    }

    @Override
    public short minVersion() {
        return 0;
    }

    @Override
    public short maxVersion() {
        return 2;
    }

    @Override
    public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
        DescribeClusterRequestData request = (DescribeClusterRequestData) message;
        if (request.endpointType() != BROKER_ENDPOINT_TYPE) {
            return CompletableFuture.completedFuture(new DescribeClusterResponseData()
                    .setErrorCode(Errors.UNSUPPORTED_ENDPOINT_TYPE.code())
                    .setErrorMessage("Only broker endpoints are served"));
        }
        DescribeClusterResponseData.DescribeClusterBrokerCollection brokers =
                new DescribeClusterResponseData.DescribeClusterBrokerCollection();
        for (BrokerRegistration b : node.metadata().image().brokers().values()) {
            if (b.fenced() && !request.includeFencedBrokers()) {
                continue;
            }
            BrokerRegistration.BrokerEndpoint e = b.endpoint(context.listenerName()).orElse(null);
            if (e == null) {
                continue; // no listener of the name this client uses
            }
            brokers.add(new DescribeClusterResponseData.DescribeClusterBroker()
                    .setBrokerId(b.brokerId())
                    .setHost(e.host())
                    .setPort(e.port())
                    .setRack(b.rack().isEmpty() ? null : b.rack())
                    .setIsFenced(b.fenced()));
        }
        return CompletableFuture.completedFuture(new DescribeClusterResponseData()
                .setErrorCode(Errors.NONE.code())
                .setEndpointType(BROKER_ENDPOINT_TYPE)
                .setClusterId(node.clusterId())
                .setControllerId(node.metadata().controllerId())
                .setBrokers(brokers)
                .setClusterAuthorizedOperations(!request.includeClusterAuthorizedOperations() ? Integer.MIN_VALUE
                        // Kafka: 0 without DESCRIBE on the cluster
                        : !node.allowedOnCluster(context, AclOperation.DESCRIBE) ? 0
                        : node.authorizedOperations(context, ResourceType.CLUSTER, NodeAuthorizer.CLUSTER_NAME)));
    }
}
