package io.tributary.node.security;

import io.tributary.proto.metadata.AccessControlEntryRecord;
import io.tributary.proto.metadata.AclFilter;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.utils.SecurityUtils;

/**
 * Converts ACLs between kafka-clients' types and the metadata records that hold them (Kafka's codes as numbers),
 * and checks a new ACL as Kafka's controller does ({@code AclControlManager.validateNewAcl}).
 */
public final class Acls {

    private Acls() {}

    public static AclBinding toBinding(AccessControlEntryRecord r) {
        return new AclBinding(
                new ResourcePattern(ResourceType.fromCode((byte) r.getResourceType()), r.getResourceName(),
                        PatternType.fromCode((byte) r.getPatternType())),
                new AccessControlEntry(r.getPrincipal(), r.getHost(), AclOperation.fromCode((byte) r.getOperation()),
                        AclPermissionType.fromCode((byte) r.getPermissionType())));
    }

    /** The record of a new ACL, without an id (the controller picks it). */
    public static AccessControlEntryRecord toRecord(AclBinding b) {
        return AccessControlEntryRecord.newBuilder()
                .setResourceType(b.pattern().resourceType().code())
                .setResourceName(b.pattern().name())
                .setPatternType(b.pattern().patternType().code())
                .setPrincipal(b.entry().principal())
                .setHost(b.entry().host())
                .setOperation(b.entry().operation().code())
                .setPermissionType(b.entry().permissionType().code())
                .build();
    }

    public static AclFilter toFilter(AclBindingFilter f) {
        AclFilter.Builder filter = AclFilter.newBuilder()
                .setResourceType(f.patternFilter().resourceType().code())
                .setPatternType(f.patternFilter().patternType().code())
                .setOperation(f.entryFilter().operation().code())
                .setPermissionType(f.entryFilter().permissionType().code());
        if (f.patternFilter().name() != null) {
            filter.setResourceName(f.patternFilter().name());
        }
        if (f.entryFilter().principal() != null) {
            filter.setPrincipal(f.entryFilter().principal());
        }
        if (f.entryFilter().host() != null) {
            filter.setHost(f.entryFilter().host());
        }
        return filter.build();
    }

    /** Why Kafka would refuse to create this ACL (INVALID_REQUEST), or null. */
    public static String problem(AclBinding b) {
        try {
            AclAuthorizer.validate(b);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        if (b.entry().host() == null || b.entry().host().isEmpty()) {
            return "Invalid host";
        }
        try {
            SecurityUtils.parseKafkaPrincipal(b.entry().principal());
        } catch (RuntimeException e) {
            return "Invalid principal " + b.entry().principal();
        }
        return null;
    }
}
