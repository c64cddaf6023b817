package io.tributary.node.handlers;

import io.tributary.metadata.TopicImage;
import io.tributary.node.group.GroupService;
import io.tributary.node.group.OffsetCommitDecision;
import io.tributary.replication.ReplicaException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.DeleteGroupsResponseData;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.DescribeGroupsResponseData;
import org.apache.kafka.common.message.HeartbeatRequestData;
import org.apache.kafka.common.message.HeartbeatResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.LeaveGroupResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.message.OffsetDeleteRequestData;
import org.apache.kafka.common.message.OffsetDeleteResponseData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.message.OffsetFetchResponseData;
import org.apache.kafka.common.message.SyncGroupRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.protocol.Errors;

/**
 * The classic group APIs. Each is a small {@link ApiHandler} with its version range; all of them route a request to
 * the coordinator of the group's {@code __consumer_offsets} partition through {@link GroupService}, which answers
 * NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS when this node cannot serve the group. (One file for the ten
 * group APIs rather than a class file each: they share the routing and error mapping, and each is a few lines;
 * TxnOffsetCommit, which has its own authorization and transactional append, is {@link TxnOffsetCommitHandler}.)
 */
public final class GroupHandlers {

    private GroupHandlers() {}

    /** All group handlers for a node. */
    public static List<ApiHandler> all(NodeServices node, GroupService groups) {
        List<ApiHandler> all = new ArrayList<>(ConsumerGroupHandlers.all(node, groups));
        all.addAll(List.of(
                new SimpleHandler(ApiKeys.JOIN_GROUP, 0, 9, (ctx, msg) -> {
                    JoinGroupRequestData req = (JoinGroupRequestData) msg;
                    return !read(node, ctx, req.groupId())
                            ? CompletableFuture.completedFuture(joinError(req, ctx.apiVersion(),
                                    Errors.GROUP_AUTHORIZATION_FAILED).setMemberId(""))
                            : join(groups, ctx, req);
                }),
                new SimpleHandler(ApiKeys.SYNC_GROUP, 0, 5, (ctx, msg) -> {
                    SyncGroupRequestData req = (SyncGroupRequestData) msg;
                    return !read(node, ctx, req.groupId()) ? CompletableFuture.completedFuture(
                            new SyncGroupResponseData().setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()))
                            : sync(groups, ctx, req);
                }),
                new SimpleHandler(ApiKeys.HEARTBEAT, 0, 4, (ctx, msg) -> {
                    HeartbeatRequestData req = (HeartbeatRequestData) msg;
                    return !read(node, ctx, req.groupId()) ? CompletableFuture.completedFuture(
                            new HeartbeatResponseData().setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()))
                            : heartbeat(groups, req);
                }),
                new SimpleHandler(ApiKeys.LEAVE_GROUP, 0, 5, (ctx, msg) -> {
                    LeaveGroupRequestData req = (LeaveGroupRequestData) msg;
                    return !read(node, ctx, req.groupId()) ? CompletableFuture.completedFuture(
                            new LeaveGroupResponseData().setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()))
                            : leave(groups, ctx, req);
                }),
                new SimpleHandler(ApiKeys.OFFSET_COMMIT, 2, 9,
                        (ctx, msg) -> commit(node, groups, ctx, (OffsetCommitRequestData) msg)),
                new SimpleHandler(ApiKeys.OFFSET_FETCH, 1, 9,
                        (ctx, msg) -> fetch(node, groups, ctx, (OffsetFetchRequestData) msg)),
                new SimpleHandler(ApiKeys.LIST_GROUPS, 0, 5, (ctx, msg) -> list(node, groups, ctx,
                        (ListGroupsRequestData) msg)),
                new SimpleHandler(ApiKeys.DESCRIBE_GROUPS, 0, 6,
                        (ctx, msg) -> describe(node, groups, ctx, (DescribeGroupsRequestData) msg)),
                new SimpleHandler(ApiKeys.DELETE_GROUPS, 0, 2, (ctx, msg) -> delete(node, groups, ctx,
                        (DeleteGroupsRequestData) msg)),
                new SimpleHandler(ApiKeys.OFFSET_DELETE, 0, 0,
                        (ctx, msg) -> deleteOffsets(node, groups, ctx, (OffsetDeleteRequestData) msg)),
                new TxnOffsetCommitHandler(node, groups)));
        return List.copyOf(all);
    }

    /** READ on the group: what Kafka asks of joining, syncing, heartbeats, leaving and committing. */
    private static boolean read(NodeServices node, RequestContext ctx, String groupId) {
        return node.allowedOnGroup(ctx, AclOperation.READ, groupId);
    }

    /** The Kafka error for a failed group call (routing, append, timeout); rethrows anything else. */
    static Errors errorOf(Throwable t) {
        Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof GroupService.NotServedException e) {
            return e.error();
        }
        if (cause instanceof TimeoutException) {
            return OffsetCommitDecision.clientError(Errors.REQUEST_TIMED_OUT);
        }
        if (cause instanceof ReplicaException || cause instanceof io.tributary.storage.LogException) {
            return OffsetCommitDecision.clientError(ErrorCodes.of((RuntimeException) cause));
        }
        if (cause instanceof RuntimeException re) {
            throw re;
        }
        throw new CompletionException(cause);
    }

    private static CompletableFuture<JoinGroupResponseData> join(GroupService groups, RequestContext ctx,
            JoinGroupRequestData req) {
        short v = ctx.apiVersion();
        String host = clientHost(ctx);
        return groups.<JoinGroupResponseData>call(req.groupId(), c -> {
            CompletableFuture<JoinGroupResponseData> f = c.coordinator().joinGroup(req, v, ctx.header().clientId(),
                    host, c.nowMs());
            c.persistMembership();
            return f;
        }, () -> joinError(req, v, Errors.NOT_COORDINATOR)).exceptionally(e -> joinError(req, v, errorOf(e)));
    }

    /** The client's host as Kafka shows it in group descriptions ({@code /address}). */
    static String clientHost(RequestContext ctx) {
        return ctx.clientAddress().contains(":")
                ? "/" + ctx.clientAddress().substring(0, ctx.clientAddress().lastIndexOf(':')) : ctx.clientAddress();
    }

    /** An error answer; the protocol name may be null only from v7 (Kafka's JoinGroupResponse uses "" before). */
    private static JoinGroupResponseData joinError(JoinGroupRequestData req, short version, Errors error) {
        return new JoinGroupResponseData().setErrorCode(error.code()).setGenerationId(-1)
                .setMemberId(req.memberId()).setProtocolName(version >= 7 ? null : "").setLeader("");
    }

    private static CompletableFuture<SyncGroupResponseData> sync(GroupService groups, RequestContext ctx,
            SyncGroupRequestData req) {
        short v = ctx.apiVersion();
        return groups.<SyncGroupResponseData>call(req.groupId(), c -> {
            CompletableFuture<SyncGroupResponseData> f = c.coordinator().syncGroup(req, v, c.nowMs());
            c.persistMembership();
            return f;
        }, () -> new SyncGroupResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()))
                .exceptionally(e -> new SyncGroupResponseData().setErrorCode(errorOf(e).code()));
    }

    private static CompletableFuture<HeartbeatResponseData> heartbeat(GroupService groups, HeartbeatRequestData req) {
        return groups.<HeartbeatResponseData>call(req.groupId(), c -> {
            HeartbeatResponseData r = c.coordinator().heartbeat(req, c.nowMs());
            c.persistMembership();
            return CompletableFuture.completedFuture(r);
        }, () -> new HeartbeatResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()))
                .exceptionally(e -> new HeartbeatResponseData().setErrorCode(errorOf(e).code()));
    }

    private static CompletableFuture<LeaveGroupResponseData> leave(GroupService groups, RequestContext ctx,
            LeaveGroupRequestData req) {
        short v = ctx.apiVersion();
        return groups.<LeaveGroupResponseData>call(req.groupId(), c -> {
            LeaveGroupResponseData r = c.coordinator().leaveGroup(req, v, c.nowMs());
            c.persistMembership();
            return CompletableFuture.completedFuture(r);
        }, () -> new LeaveGroupResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()))
                .exceptionally(e -> new LeaveGroupResponseData().setErrorCode(errorOf(e).code()));
    }

    /**
     * As in Kafka: READ on the group (else every partition GROUP_AUTHORIZATION_FAILED), then READ on each topic
     * (else that topic's partitions TOPIC_AUTHORIZATION_FAILED; only the allowed topics are committed).
     */
    private static CompletableFuture<OffsetCommitResponseData> commit(NodeServices node, GroupService groups,
            RequestContext ctx, OffsetCommitRequestData req) {
        short v = ctx.apiVersion();
        if (!read(node, ctx, req.groupId())) {
            return CompletableFuture.completedFuture(commitError(req, Errors.GROUP_AUTHORIZATION_FAILED));
        }
        List<OffsetCommitRequestData.OffsetCommitRequestTopic> allowed = new ArrayList<>();
        List<OffsetCommitRequestData.OffsetCommitRequestTopic> refused = new ArrayList<>();
        for (OffsetCommitRequestData.OffsetCommitRequestTopic t : req.topics()) {
            (node.allowedOnTopic(ctx, AclOperation.READ, t.name()) ? allowed : refused).add(t);
        }
        OffsetCommitResponseData refusedAnswer = commitError(req.duplicate().setTopics(refused),
                Errors.TOPIC_AUTHORIZATION_FAILED);
        if (allowed.isEmpty()) {
            return CompletableFuture.completedFuture(refusedAnswer);
        }
        OffsetCommitRequestData permitted = refused.isEmpty() ? req : req.duplicate().setTopics(allowed);
        return groups.<OffsetCommitResponseData>call(req.groupId(), c -> {
            OffsetCommitDecision decision = c.coordinator().commitOffsets(permitted, v, tp -> exists(node, tp),
                    c.nowMs());
            return c.persist(decision.records()).handle((ok, e) -> e == null ? decision.response()
                    : decision.failed(errorOf(e)));
        }, () -> commitError(permitted, Errors.NOT_COORDINATOR))
                .exceptionally(e -> commitError(permitted, errorOf(e)))
                .thenApply(answer -> {
                    answer.topics().addAll(refusedAnswer.topics());
                    return answer;
                });
    }

    static boolean exists(NodeServices node, TopicPartition tp) {
        TopicImage topic = node.metadata().image().topic(tp.topic());
        return topic != null && topic.partition(tp.partition()) != null;
    }

    private static OffsetCommitResponseData commitError(OffsetCommitRequestData req, Errors error) {
        OffsetCommitResponseData response = new OffsetCommitResponseData();
        for (OffsetCommitRequestData.OffsetCommitRequestTopic t : req.topics()) {
            OffsetCommitResponseData.OffsetCommitResponseTopic topic =
                    new OffsetCommitResponseData.OffsetCommitResponseTopic().setName(t.name());
            t.partitions().forEach(p -> topic.partitions().add(new OffsetCommitResponseData
                    .OffsetCommitResponsePartition().setPartitionIndex(p.partitionIndex()).setErrorCode(error.code())));
            response.topics().add(topic);
        }
        return response;
    }

    /**
     * As in Kafka: DESCRIBE on each group (else GROUP_AUTHORIZATION_FAILED), and DESCRIBE on each topic: a named
     * topic the principal may not describe gets TOPIC_AUTHORIZATION_FAILED, and when all of a group's offsets are
     * asked for, such topics are left out.
     */
    private static CompletableFuture<OffsetFetchResponseData> fetch(NodeServices node, GroupService groups,
            RequestContext ctx, OffsetFetchRequestData req) {
        short v = ctx.apiVersion();
        if (v < 8) {
            if (!node.allowedOnGroup(ctx, AclOperation.DESCRIBE, req.groupId())) {
                OffsetFetchResponseData denied = new OffsetFetchResponseData()
                        .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code());
                if (v < 2 && req.topics() != null) {
                    // v0-1 have no top-level error: every asked partition carries it
                    for (OffsetFetchRequestData.OffsetFetchRequestTopic t : req.topics()) {
                        OffsetFetchResponseData.OffsetFetchResponseTopic topic =
                                new OffsetFetchResponseData.OffsetFetchResponseTopic().setName(t.name());
                        t.partitionIndexes().forEach(p -> topic.partitions().add(
                                new OffsetFetchResponseData.OffsetFetchResponsePartition().setPartitionIndex(p)
                                        .setCommittedOffset(-1).setMetadata("")
                                        .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code())));
                        denied.topics().add(topic);
                    }
                }
                return CompletableFuture.completedFuture(denied);
            }
            boolean all = req.topics() == null;
            return groups.<OffsetFetchResponseData>call(req.groupId(),
                    c -> CompletableFuture.completedFuture(c.coordinator().fetchOffsets(req, v)),
                    () -> new OffsetFetchResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()))
                    .exceptionally(e -> new OffsetFetchResponseData().setErrorCode(errorOf(e).code()))
                    .thenApply(answer -> {
                        answer.topics().removeIf(t -> all && !describable(node, ctx, t.name()));
                        for (OffsetFetchResponseData.OffsetFetchResponseTopic t : answer.topics()) {
                            if (!describable(node, ctx, t.name())) {
                                t.partitions().forEach(p -> p.setCommittedOffset(-1).setMetadata("")
                                        .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
                            }
                        }
                        return answer;
                    });
        }
        List<CompletableFuture<OffsetFetchResponseData.OffsetFetchResponseGroup>> perGroup = new ArrayList<>();
        for (OffsetFetchRequestData.OffsetFetchRequestGroup g : req.groups()) {
            if (!node.allowedOnGroup(ctx, AclOperation.DESCRIBE, g.groupId())) {
                perGroup.add(CompletableFuture.completedFuture(groupFetchError(g, Errors.GROUP_AUTHORIZATION_FAILED)));
                continue;
            }
            boolean all = g.topics() == null;
            OffsetFetchRequestData single = new OffsetFetchRequestData().setRequireStable(req.requireStable())
                    .setGroups(List.of(g));
            perGroup.add(groups.<OffsetFetchResponseData.OffsetFetchResponseGroup>call(g.groupId(),
                    c -> CompletableFuture.completedFuture(c.coordinator().fetchOffsets(single, v).groups().get(0)),
                    () -> groupFetchError(g, Errors.NOT_COORDINATOR))
                    .exceptionally(e -> groupFetchError(g, errorOf(e)))
                    .thenApply(answer -> {
                        answer.topics().removeIf(t -> all && !describable(node, ctx, t.name()));
                        for (OffsetFetchResponseData.OffsetFetchResponseTopics t : answer.topics()) {
                            if (!describable(node, ctx, t.name())) {
                                t.partitions().forEach(p -> p.setCommittedOffset(-1).setMetadata("")
                                        .setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code()));
                            }
                        }
                        return answer;
                    }));
        }
        return CompletableFuture.allOf(perGroup.toArray(CompletableFuture[]::new)).thenApply(x -> {
            OffsetFetchResponseData response = new OffsetFetchResponseData();
            perGroup.forEach(f -> response.groups().add(f.join()));
            return response;
        });
    }

    private static boolean describable(NodeServices node, RequestContext ctx, String topic) {
        return node.allowedOnTopic(ctx, AclOperation.DESCRIBE, topic);
    }

    private static OffsetFetchResponseData.OffsetFetchResponseGroup groupFetchError(
            OffsetFetchRequestData.OffsetFetchRequestGroup g, Errors error) {
        return new OffsetFetchResponseData.OffsetFetchResponseGroup().setGroupId(g.groupId())
                .setErrorCode(error.code());
    }

    /** Every group with DESCRIBE on the cluster; else only the groups the principal may DESCRIBE (as Kafka). */
    private static CompletableFuture<ListGroupsResponseData> list(NodeServices node, GroupService groups,
            RequestContext ctx, ListGroupsRequestData req) {
        boolean everyGroup = node.allowedOnCluster(ctx, AclOperation.DESCRIBE);
        return groups.callAll(c -> c.listGroups(req)).thenApply(all -> {
            ListGroupsResponseData response = new ListGroupsResponseData();
            all.forEach(r -> r.groups().stream().filter(g -> everyGroup
                    || node.allowedOnGroup(ctx, AclOperation.DESCRIBE, g.groupId()))
                    .forEach(response.groups()::add));
            return response;
        });
    }

    private static CompletableFuture<DescribeGroupsResponseData> describe(NodeServices node, GroupService groups,
            RequestContext ctx, DescribeGroupsRequestData req) {
        short v = ctx.apiVersion();
        List<CompletableFuture<DescribeGroupsResponseData.DescribedGroup>> perGroup = new ArrayList<>();
        for (String groupId : req.groups()) {
            if (!node.allowedOnGroup(ctx, AclOperation.DESCRIBE, groupId)) {
                perGroup.add(CompletableFuture.completedFuture(describeError(groupId,
                        Errors.GROUP_AUTHORIZATION_FAILED)));
                continue;
            }
            DescribeGroupsRequestData single = new DescribeGroupsRequestData().setGroups(List.of(groupId))
                    .setIncludeAuthorizedOperations(req.includeAuthorizedOperations());
            perGroup.add(groups.<DescribeGroupsResponseData.DescribedGroup>call(groupId,
                    c -> CompletableFuture.completedFuture(c.coordinator().describeGroups(single, v).groups().get(0)),
                    () -> describeError(groupId, Errors.NOT_COORDINATOR))
                    .exceptionally(e -> describeError(groupId, errorOf(e))));
        }
        return CompletableFuture.allOf(perGroup.toArray(CompletableFuture[]::new)).thenApply(x -> {
            DescribeGroupsResponseData response = new DescribeGroupsResponseData();
            perGroup.forEach(f -> response.groups().add(f.join()));
            if (v >= 3 && req.includeAuthorizedOperations()) {
                response.groups().stream().filter(g -> g.errorCode() == Errors.NONE.code())
                        .forEach(g -> g.setAuthorizedOperations(node.authorizedOperations(ctx,
                                org.apache.kafka.common.resource.ResourceType.GROUP, g.groupId())));
            }
            return response;
        });
    }

    private static DescribeGroupsResponseData.DescribedGroup describeError(String groupId, Errors error) {
        return new DescribeGroupsResponseData.DescribedGroup().setGroupId(groupId).setErrorCode(error.code())
                .setGroupState("").setProtocolType("").setProtocolData("");
    }

    private static CompletableFuture<DeleteGroupsResponseData> delete(NodeServices node, GroupService groups,
            RequestContext ctx, DeleteGroupsRequestData req) {
        List<CompletableFuture<DeleteGroupsResponseData.DeletableGroupResult>> perGroup = new ArrayList<>();
        for (String groupId : req.groupsNames()) {
            if (!node.allowedOnGroup(ctx, AclOperation.DELETE, groupId)) {
                perGroup.add(CompletableFuture.completedFuture(deleteError(groupId,
                        Errors.GROUP_AUTHORIZATION_FAILED)));
                continue;
            }
            DeleteGroupsRequestData single = new DeleteGroupsRequestData().setGroupsNames(List.of(groupId));
            perGroup.add(groups.<DeleteGroupsResponseData.DeletableGroupResult>call(groupId, c -> {
                var decision = c.coordinator().deleteGroups(single, c.nowMs());
                var result = decision.response().results().iterator().next();
                return c.persist(decision.records()).handle((ok, e) -> e == null ? result
                        : result.duplicate().setErrorCode(errorOf(e).code()));
            }, () -> deleteError(groupId, Errors.NOT_COORDINATOR)).exceptionally(e -> deleteError(groupId,
                    errorOf(e))));
        }
        return CompletableFuture.allOf(perGroup.toArray(CompletableFuture[]::new)).thenApply(x -> {
            DeleteGroupsResponseData response = new DeleteGroupsResponseData();
            perGroup.forEach(f -> response.results().add(f.join().duplicate()));
            return response;
        });
    }

    private static DeleteGroupsResponseData.DeletableGroupResult deleteError(String groupId, Errors error) {
        return new DeleteGroupsResponseData.DeletableGroupResult().setGroupId(groupId).setErrorCode(error.code());
    }

    /** DELETE on the group (else a top-level GROUP_AUTHORIZATION_FAILED), then READ on each topic, as in Kafka. */
    private static CompletableFuture<OffsetDeleteResponseData> deleteOffsets(NodeServices node, GroupService groups,
            RequestContext ctx, OffsetDeleteRequestData req) {
        if (!node.allowedOnGroup(ctx, AclOperation.DELETE, req.groupId())) {
            return CompletableFuture.completedFuture(new OffsetDeleteResponseData()
                    .setErrorCode(Errors.GROUP_AUTHORIZATION_FAILED.code()));
        }
        OffsetDeleteRequestData.OffsetDeleteRequestTopicCollection allowed =
                new OffsetDeleteRequestData.OffsetDeleteRequestTopicCollection();
        OffsetDeleteResponseData.OffsetDeleteResponseTopicCollection refused =
                new OffsetDeleteResponseData.OffsetDeleteResponseTopicCollection();
        for (OffsetDeleteRequestData.OffsetDeleteRequestTopic t : req.topics()) {
            if (node.allowedOnTopic(ctx, AclOperation.READ, t.name())) {
                allowed.add(t.duplicate());
                continue;
            }
            OffsetDeleteResponseData.OffsetDeleteResponsePartitionCollection partitions =
                    new OffsetDeleteResponseData.OffsetDeleteResponsePartitionCollection();
            t.partitions().forEach(p -> partitions.add(new OffsetDeleteResponseData.OffsetDeleteResponsePartition()
                    .setPartitionIndex(p.partitionIndex()).setErrorCode(Errors.TOPIC_AUTHORIZATION_FAILED.code())));
            refused.add(new OffsetDeleteResponseData.OffsetDeleteResponseTopic().setName(t.name())
                    .setPartitions(partitions));
        }
        OffsetDeleteRequestData permitted = req.duplicate().setTopics(allowed);
        return groups.<OffsetDeleteResponseData>call(req.groupId(), c -> {
            var decision = c.coordinator().deleteOffsets(permitted);
            return c.persist(decision.records()).handle((ok, e) -> e == null ? decision.response()
                    : new OffsetDeleteResponseData().setErrorCode(errorOf(e).code()));
        }, () -> new OffsetDeleteResponseData().setErrorCode(Errors.NOT_COORDINATOR.code()))
                .exceptionally(e -> new OffsetDeleteResponseData().setErrorCode(errorOf(e).code()))
                .thenApply(answer -> {
                    refused.forEach(t -> answer.topics().add(t.duplicate()));
                    return answer;
                });
    }
}
