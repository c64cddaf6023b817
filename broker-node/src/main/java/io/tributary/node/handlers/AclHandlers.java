package io.tributary.node.handlers;

import io.tributary.node.security.Acls;
import io.tributary.node.security.NodeAuthorizer;
import io.tributary.proto.metadata.AccessControlEntryRecord;
import io.tributary.proto.metadata.AclResult;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.DeleteAclsRequest;
import io.tributary.proto.metadata.DeletedAcls;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.message.CreateAclsRequestData;
import org.apache.kafka.common.message.CreateAclsResponseData;
import org.apache.kafka.common.message.DeleteAclsRequestData;
import org.apache.kafka.common.message.DeleteAclsResponseData;
import org.apache.kafka.common.message.DescribeAclsRequestData;
import org.apache.kafka.common.message.DescribeAclsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.requests.ApiError;
import org.apache.kafka.common.requests.CreateAclsRequest;
import org.apache.kafka.common.requests.DeleteAclsResponse;
import org.apache.kafka.common.requests.DescribeAclsResponse;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * CreateAcls, DescribeAcls and DeleteAcls v0-3 ({@code kafka-acls}): ACLs live in the replicated metadata; creations
 * and deletions go through the controller (which matches deletion filters against the newest ACLs), descriptions
 * are answered from this node's image. As in Kafka: without an authorizer all three answer SECURITY_DISABLED;
 * creating and deleting needs ALTER on the cluster, describing DESCRIBE on the cluster
 * (CLUSTER_AUTHORIZATION_FAILED otherwise).
 */
public final class AclHandlers {

    private AclHandlers() {}

    public static List<ApiHandler> all(NodeServices node) {
        return List.of(new Create(node), new Describe(node), new Delete(node));
    }

    private static final String NO_AUTHORIZER = "No Authorizer is configured on the broker";

    private static boolean clusterAllowed(NodeServices node, RequestContext context, AclOperation operation) {
        return node.authorizer().allowed(context.principal(), context.clientHost(), operation, ResourceType.CLUSTER,
                NodeAuthorizer.CLUSTER_NAME);
    }

    private abstract static class AclApi implements ApiHandler {
        final NodeServices node;

        AclApi(NodeServices node) {
            this.node = node;
        }

        @Override
        public short minVersion() {
            return 0;
        }

        @Override
        public short maxVersion() {
            return 3;
        }
    }

    static final class Create extends AclApi {
        Create(NodeServices node) {
            super(node);
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.CREATE_ACLS;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            List<CreateAclsRequestData.AclCreation> creations = ((CreateAclsRequestData) message).creations();
            Errors refusal = !node.authorizer().enabled() ? Errors.SECURITY_DISABLED
                    : !clusterAllowed(node, context, AclOperation.ALTER) ? Errors.CLUSTER_AUTHORIZATION_FAILED
                    : null;
            List<CreateAclsResponseData.AclCreationResult> results = new ArrayList<>();
            // Indexes of the creations sent to the controller, in order.
            List<Integer> sent = new ArrayList<>();
            io.tributary.proto.metadata.CreateAclsRequest.Builder valid =
                    io.tributary.proto.metadata.CreateAclsRequest.newBuilder();
            for (int i = 0; i < creations.size(); i++) {
                if (refusal != null) {
                    results.add(result(refusal, refusal == Errors.SECURITY_DISABLED ? NO_AUTHORIZER : null));
                    continue;
                }
                String problem;
                AclBinding binding = null;
                try {
                    binding = CreateAclsRequest.aclBinding(creations.get(i));
                    problem = Acls.problem(binding);
                } catch (RuntimeException e) {
                    problem = "Invalid ACL: " + e.getMessage();
                }
                if (problem != null) {
                    results.add(result(Errors.INVALID_REQUEST, problem));
                    continue;
                }
                results.add(result(Errors.NONE, null));
                sent.add(i);
                valid.addAcls(Acls.toRecord(binding));
            }
            if (sent.isEmpty()) {
                return CompletableFuture.completedFuture(new CreateAclsResponseData().setResults(results));
            }
            return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setCreateAcls(valid).build())
                    .handle((answer, error) -> {
                        for (int k = 0; k < sent.size(); k++) {
                            int i = sent.get(k);
                            if (error != null) {
                                results.set(i, result(Errors.REQUEST_TIMED_OUT,
                                        "the controller did not answer in time"));
                            } else if (answer.getError() != ControllerErrorCode.NONE) {
                                results.set(i, result(TopicCreator.error(answer), answer.getErrorMessage()));
                            } else {
                                AclResult r = answer.getCreateAcls().getResults(k);
                                results.set(i, result(TopicCreator.error(r.getError()),
                                        r.getErrorMessage().isEmpty() ? null : r.getErrorMessage()));
                            }
                        }
                        return new CreateAclsResponseData().setResults(results);
                    });
        }

        private static CreateAclsResponseData.AclCreationResult result(Errors error, String message) {
            return new CreateAclsResponseData.AclCreationResult().setErrorCode(error.code())
                    .setErrorMessage(message);
        }
    }

    static final class Describe extends AclApi {
        Describe(NodeServices node) {
            super(node);
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DESCRIBE_ACLS;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            DescribeAclsRequestData request = (DescribeAclsRequestData) message;
            if (!node.authorizer().enabled()) {
                return CompletableFuture.completedFuture(error(Errors.SECURITY_DISABLED, NO_AUTHORIZER));
            }
            if (!clusterAllowed(node, context, AclOperation.DESCRIBE)) {
                return CompletableFuture.completedFuture(error(Errors.CLUSTER_AUTHORIZATION_FAILED, null));
            }
            AclBindingFilter filter = filter(request.resourceTypeFilter(), request.resourceNameFilter(),
                    request.patternTypeFilter(), request.principalFilter(), request.hostFilter(),
                    request.operation(), request.permissionType());
            if (filter.isUnknown()) {
                return CompletableFuture.completedFuture(error(Errors.INVALID_REQUEST,
                        "The filter has an unknown element: " + filter));
            }
            return CompletableFuture.completedFuture(new DescribeAclsResponseData()
                    .setResources(DescribeAclsResponse.aclsResources(node.authorizer().acls(filter))));
        }

        private static DescribeAclsResponseData error(Errors error, String message) {
            return new DescribeAclsResponseData().setErrorCode(error.code()).setErrorMessage(message);
        }
    }

    static final class Delete extends AclApi {
        Delete(NodeServices node) {
            super(node);
        }

        @Override
        public ApiKeys apiKey() {
            return ApiKeys.DELETE_ACLS;
        }

        @Override
        public CompletableFuture<ApiMessage> handle(RequestContext context, ApiMessage message) {
            List<DeleteAclsRequestData.DeleteAclsFilter> filters = ((DeleteAclsRequestData) message).filters();
            Errors refusal = !node.authorizer().enabled() ? Errors.SECURITY_DISABLED
                    : !clusterAllowed(node, context, AclOperation.ALTER) ? Errors.CLUSTER_AUTHORIZATION_FAILED
                    : null;
            List<DeleteAclsResponseData.DeleteAclsFilterResult> results = new ArrayList<>();
            List<Integer> sent = new ArrayList<>();
            DeleteAclsRequest.Builder valid = DeleteAclsRequest.newBuilder();
            for (int i = 0; i < filters.size(); i++) {
                if (refusal != null) {
                    results.add(result(refusal, refusal == Errors.SECURITY_DISABLED ? NO_AUTHORIZER : null));
                    continue;
                }
                DeleteAclsRequestData.DeleteAclsFilter f = filters.get(i);
                AclBindingFilter filter = filter(f.resourceTypeFilter(), f.resourceNameFilter(),
                        f.patternTypeFilter(), f.principalFilter(), f.hostFilter(), f.operation(),
                        f.permissionType());
                if (filter.isUnknown()) {
                    results.add(result(Errors.INVALID_REQUEST, "The filter has an unknown element: " + filter));
                    continue;
                }
                results.add(result(Errors.NONE, null));
                sent.add(i);
                valid.addFilters(Acls.toFilter(filter));
            }
            if (sent.isEmpty()) {
                return CompletableFuture.completedFuture(new DeleteAclsResponseData().setFilterResults(results));
            }
            return node.sendToControllerAndAwait(ControllerRequest.newBuilder().setDeleteAcls(valid).build())
                    .handle((answer, error) -> {
                        for (int k = 0; k < sent.size(); k++) {
                            int i = sent.get(k);
                            if (error != null) {
                                results.set(i, result(Errors.REQUEST_TIMED_OUT,
                                        "the controller did not answer in time"));
                            } else if (answer.getError() != ControllerErrorCode.NONE) {
                                results.set(i, result(TopicCreator.error(answer), answer.getErrorMessage()));
                            } else {
                                DeletedAcls deleted = answer.getDeleteAcls().getResults(k);
                                List<DeleteAclsResponseData.DeleteAclsMatchingAcl> matching = new ArrayList<>();
                                for (AccessControlEntryRecord r : deleted.getAclsList()) {
                                    matching.add(DeleteAclsResponse.matchingAcl(Acls.toBinding(r), ApiError.NONE));
                                }
                                results.get(i).setMatchingAcls(matching);
                            }
                        }
                        return new DeleteAclsResponseData().setFilterResults(results);
                    });
        }

        private static DeleteAclsResponseData.DeleteAclsFilterResult result(Errors error, String message) {
            return new DeleteAclsResponseData.DeleteAclsFilterResult().setErrorCode(error.code())
                    .setErrorMessage(message).setMatchingAcls(new ArrayList<>());
        }
    }

    static AclBindingFilter filter(byte resourceType, String resourceName, byte patternType, String principal,
            String host, byte operation, byte permissionType) {
        return new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.fromCode(resourceType), resourceName,
                        PatternType.fromCode(patternType)),
                new AccessControlEntryFilter(principal, host, AclOperation.fromCode(operation),
                        AclPermissionType.fromCode(permissionType)));
    }
}
