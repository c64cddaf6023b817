package io.tributary.node.handlers;

import io.tributary.node.group.ClusterTopics;
import io.tributary.node.group.GroupService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.message.ConsumerGroupDescribeRequestData;
import org.apache.kafka.common.message.ConsumerGroupDescribeResponseData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.resource.ResourceType;

/**
 * The KIP-848 consumer group APIs: ConsumerGroupHeartbeat v0-1 (API 68) and ConsumerGroupDescribe v0-1 (API 69).
 * Both route to the coordinator of the group's {@code __consumer_offsets} partition through {@link GroupService}
 * (NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS when this node cannot serve it). A heartbeat's decision is applied
 * at once on the coordinator thread and answered once its records are committed (acks=all); if they cannot be
 * written the member gets the append's error and retries.
 */
public final class ConsumerGroupHandlers {

    private ConsumerGroupHandlers() {}

    static List<ApiHandler> all(NodeServices node, GroupService groups) {
        return List.of(
                new SimpleHandler(ApiKeys.CONSUMER_GROUP_HEARTBEAT, 0, 1,
                        (ctx, msg) -> heartbeat(node, groups, ctx, (ConsumerGroupHeartbeatRequestData) msg)),
                new SimpleHandler(ApiKeys.CONSUMER_GROUP_DESCRIBE, 0, 1,
                        (ctx, msg) -> describe(node, groups, ctx, (ConsumerGroupDescribeRequestData) msg)));
    }

    /**
     * As Kafka: READ on the group (else GROUP_AUTHORIZATION_FAILED) and DESCRIBE on every subscribed topic (else
     * TOPIC_AUTHORIZATION_FAILED naming them).
     */
    private static CompletableFuture<ConsumerGroupHeartbeatResponseData> heartbeat(NodeServices node,
            GroupService groups, RequestContext ctx, ConsumerGroupHeartbeatRequestData req) {
        short v = ctx.apiVersion();
        if (!node.allowedOnGroup(ctx, AclOperation.READ, req.groupId())) {
            return CompletableFuture.completedFuture(error(Errors.GROUP_AUTHORIZATION_FAILED, null));
        }
        if (req.subscribedTopicNames() != null) {
            List<String> refused = new ArrayList<>();
            req.subscribedTopicNames().stream().filter(t -> !node.allowedOnTopic(ctx, AclOperation.DESCRIBE, t))
                    .forEach(refused::add);
            if (!refused.isEmpty()) {
                return CompletableFuture.completedFuture(error(Errors.TOPIC_AUTHORIZATION_FAILED,
                        "Unauthorized topics: " + String.join(", ", refused)));
            }
        }
        String host = GroupHandlers.clientHost(ctx);
        return groups.<ConsumerGroupHeartbeatResponseData>call(req.groupId(), c -> {
            ConsumerGroupHeartbeatResponseData response = c.coordinator().consumerGroupHeartbeat(req, v,
                    ctx.header().clientId(), host, groups.clusterTopics(), c.nowMs());
            return c.persist(c.coordinator().takeRecords()).handle((ok, e) -> e == null ? response
                    : error(GroupHandlers.errorOf(e), null));
        }, () -> error(Errors.NOT_COORDINATOR, null)).exceptionally(e -> error(GroupHandlers.errorOf(e), null));
    }

    private static ConsumerGroupHeartbeatResponseData error(Errors error, String message) {
        return new ConsumerGroupHeartbeatResponseData().setErrorCode(error.code())
                .setErrorMessage(message != null ? message : error.message());
    }

    /**
     * As Kafka: DESCRIBE on each group (else GROUP_AUTHORIZATION_FAILED), and DESCRIBE on every topic of its
     * members' assignments (else TOPIC_AUTHORIZATION_FAILED for the group); authorized operations when asked.
     */
    private static CompletableFuture<ConsumerGroupDescribeResponseData> describe(NodeServices node,
            GroupService groups, RequestContext ctx, ConsumerGroupDescribeRequestData req) {
        List<CompletableFuture<ConsumerGroupDescribeResponseData.DescribedGroup>> perGroup = new ArrayList<>();
        for (String groupId : req.groupIds()) {
            if (!node.allowedOnGroup(ctx, AclOperation.DESCRIBE, groupId)) {
                perGroup.add(CompletableFuture.completedFuture(describeError(groupId,
                        Errors.GROUP_AUTHORIZATION_FAILED)));
                continue;
            }
            ClusterTopics topics = groups.clusterTopics();
            perGroup.add(groups.<ConsumerGroupDescribeResponseData.DescribedGroup>call(groupId,
                    c -> CompletableFuture.completedFuture(c.coordinator().describeConsumerGroup(groupId, topics)),
                    () -> describeError(groupId, Errors.NOT_COORDINATOR))
                    .exceptionally(e -> describeError(groupId, GroupHandlers.errorOf(e)))
                    .thenApply(g -> authorize(node, ctx, g, req.includeAuthorizedOperations())));
        }
        return CompletableFuture.allOf(perGroup.toArray(CompletableFuture[]::new)).thenApply(x -> {
            ConsumerGroupDescribeResponseData response = new ConsumerGroupDescribeResponseData();
            perGroup.forEach(f -> response.groups().add(f.join()));
            return response;
        });
    }

    private static ConsumerGroupDescribeResponseData.DescribedGroup authorize(NodeServices node, RequestContext ctx,
            ConsumerGroupDescribeResponseData.DescribedGroup group, boolean includeAuthorizedOperations) {
        if (group.errorCode() != Errors.NONE.code()) {
            return group;
        }
        for (ConsumerGroupDescribeResponseData.Member m : group.members()) {
            for (var assignment : List.of(m.assignment(), m.targetAssignment())) {
                for (ConsumerGroupDescribeResponseData.TopicPartitions tp : assignment.topicPartitions()) {
                    if (!node.allowedOnTopic(ctx, AclOperation.DESCRIBE, tp.topicName())) {
                        return describeError(group.groupId(), Errors.TOPIC_AUTHORIZATION_FAILED)
                                .setErrorMessage("The group has assigned topics that the client is not authorized "
                                        + "to describe.");
                    }
                }
            }
        }
        if (includeAuthorizedOperations) {
            group.setAuthorizedOperations(node.authorizedOperations(ctx, ResourceType.GROUP, group.groupId()));
        }
        return group;
    }

    private static ConsumerGroupDescribeResponseData.DescribedGroup describeError(String groupId, Errors error) {
        return new ConsumerGroupDescribeResponseData.DescribedGroup().setGroupId(groupId).setErrorCode(error.code())
                .setGroupState("Dead");
    }
}
