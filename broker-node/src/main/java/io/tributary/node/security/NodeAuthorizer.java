package io.tributary.node.security;

import io.tributary.metadata.MetadataImage;
import io.tributary.node.NodeConfig;
import io.tributary.proto.metadata.AccessControlEntryRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.server.authorizer.AuthorizationResult;

/**
 * The node's authorizer: the ACLs of its newest metadata image, judged by {@link AclAuthorizer} (Kafka's
 * StandardAuthorizer semantics) with the node's {@code super.users} and {@code allow.everyone.if.no.acl.found}.
 * With {@code authorizer.class.name} unset every request is allowed, as in Kafka without an authorizer.
 *
 * <p>The index is rebuilt when an image brings a different ACL map (images replace the map on every ACL change,
 * so an identity check is enough). Threads: any; the current index is published through a volatile field.
 */
public final class NodeAuthorizer {

    /** Kafka's name of the one CLUSTER resource. */
    public static final String CLUSTER_NAME = AclAuthorizer.CLUSTER_NAME;

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeAuthorizer.class);

    private record Index(Map<UUID, AccessControlEntryRecord> acls, AclAuthorizer authorizer) {}

    private final NodeConfig.Authorization config;
    private final Supplier<MetadataImage> images;
    private volatile Index index;

    public NodeAuthorizer(NodeConfig.Authorization config, Supplier<MetadataImage> images) {
        this.config = config;
        this.images = images;
    }

    /** Whether ACLs are enforced ({@code authorizer.class.name} is set). */
    public boolean enabled() {
        return config.enabled();
    }

    /** Whether {@code principal} at {@code host} may do {@code operation} on the named resource. */
    public boolean allowed(KafkaPrincipal principal, String host, AclOperation operation, ResourceType type,
            String name) {
        if (!config.enabled()) {
            return true;
        }
        return current().authorize(principal, host, operation, type, name) == AuthorizationResult.ALLOWED;
    }

    /** Whether {@code principal} may do {@code operation} on at least one resource of {@code type}. */
    public boolean allowedOnAny(KafkaPrincipal principal, String host, AclOperation operation, ResourceType type) {
        if (!config.enabled()) {
            return true;
        }
        return current().authorizeByResourceType(principal, host, operation, type) == AuthorizationResult.ALLOWED;
    }

    /** The ACLs matching {@code filter} (DescribeAcls). */
    public List<AclBinding> acls(AclBindingFilter filter) {
        return current().acls(filter);
    }

    private AclAuthorizer current() {
        Map<UUID, AccessControlEntryRecord> acls = images.get().acls();
        Index now = index;
        if (now == null || now.acls() != acls) {
            List<AclBinding> bindings = new ArrayList<>(acls.size());
            for (AccessControlEntryRecord r : acls.values()) {
                // Creation refuses what the authorizer cannot hold; an ACL that got in another way is skipped
                // (it could match nothing) rather than leave the node unable to authorize anyone.
                AclBinding binding;
                String problem;
                try {
                    binding = Acls.toBinding(r);
                    problem = Acls.problem(binding);
                } catch (RuntimeException e) {
                    binding = null;
                    problem = e.getMessage();
                }
                if (problem == null) {
                    bindings.add(binding);
                } else {
                    log.warn("skipping ACL record {}: {}", r, problem);
                }
            }
            now = new Index(acls, new AclAuthorizer(bindings, config.superUsers(),
                    config.allowEveryoneIfNoAclFound()));
            index = now;
        }
        return now.authorizer();
    }
}
