package io.tributary.metadata;

import io.tributary.proto.metadata.AccessControlEntryRecord;
import io.tributary.proto.metadata.AclFilter;
import io.tributary.proto.metadata.AclResult;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.DeletedAcls;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.RemoveAccessControlEntryRecord;
import io.tributary.proto.metadata.RemoveUserScramCredentialRecord;
import io.tributary.proto.metadata.UserResult;
import io.tributary.proto.metadata.UserScramCredentialRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The controller's deciding core for security metadata (SCRAM credentials and ACLs), as Kafka's KRaft controller
 * decides them ({@code ScramControlManager}, {@code AclControlManager}): pure functions from the image and a request
 * to the records that carry it out and the per-item answers. The broker checks what needs no state (mechanisms,
 * iterations, duplicates in one request, ACL fields) before it asks.
 *
 * <p>ACL enums are Kafka's codes, kept as numbers so that this module does not know the Kafka protocol:
 * resource types ANY=1, patterns ANY=1, MATCH=2, LITERAL=3, PREFIXED=4; operations ANY=1; permissions ANY=1.
 */
public final class SecurityDecisions {

    /** The most ACLs a cluster holds; creations beyond it are refused. */
    public static final int MAX_ACLS = 100_000;
    /** The most SCRAM credentials (user and mechanism pairs) a cluster holds. */
    public static final int MAX_SCRAM_CREDENTIALS = 100_000;

    static final int ANY = 1;
    static final int PATTERN_MATCH = 2;
    static final int PATTERN_LITERAL = 3;
    static final int PATTERN_PREFIXED = 4;
    static final String WILDCARD_RESOURCE = "*";

    private SecurityDecisions() {}

    /**
     * AlterUserScramCredentials: every upsertion replaces the user's credential for its mechanism; a deletion of a
     * credential that does not exist fails with RESOURCE_NOT_FOUND, and then none of that user's changes apply.
     * One result per user, in the order users are first named.
     */
    public static ControllerResult<List<UserResult>> alterScramCredentials(MetadataImage image,
            List<UserScramCredentialRecord> upsertions, List<RemoveUserScramCredentialRecord> deletions) {
        Map<String, UserResult> results = new LinkedHashMap<>();
        deletions.forEach(d -> results.putIfAbsent(d.getName(), ok(d.getName())));
        upsertions.forEach(u -> results.putIfAbsent(u.getName(), ok(u.getName())));
        for (RemoveUserScramCredentialRecord d : deletions) {
            if (image.scramCredential(d.getName(), d.getMechanism()) == null) {
                results.put(d.getName(), UserResult.newBuilder().setUser(d.getName())
                        .setError(ControllerErrorCode.RESOURCE_NOT_FOUND)
                        .setErrorMessage("Attempt to delete a user credential that does not exist").build());
            }
        }
        int credentials = image.scramCredentials().values().stream().mapToInt(Map::size).sum();
        List<MetadataRecord> records = new ArrayList<>();
        for (RemoveUserScramCredentialRecord d : deletions) {
            if (results.get(d.getName()).getError() == ControllerErrorCode.NONE) {
                records.add(MetadataRecord.newBuilder().setRemoveUserScramCredential(d).build());
                credentials--;
            }
        }
        for (UserScramCredentialRecord u : upsertions) {
            if (results.get(u.getName()).getError() != ControllerErrorCode.NONE) {
                continue;
            }
            boolean adds = image.scramCredential(u.getName(), u.getMechanism()) == null;
            if (adds && credentials >= MAX_SCRAM_CREDENTIALS) {
                results.put(u.getName(), UserResult.newBuilder().setUser(u.getName())
                        .setError(ControllerErrorCode.POLICY_VIOLATION)
                        .setErrorMessage("the cluster holds " + MAX_SCRAM_CREDENTIALS
                                + " SCRAM credentials, the most it allows").build());
                continue;
            }
            records.add(MetadataRecord.newBuilder().setUserScramCredential(u).build());
            credentials += adds ? 1 : 0;
        }
        // A user refused after some of its records were listed (the limit) keeps none of them.
        records.removeIf(r -> results.get(r.hasUserScramCredential() ? r.getUserScramCredential().getName()
                : r.getRemoveUserScramCredential().getName()).getError() != ControllerErrorCode.NONE);
        return ControllerResult.of(records, List.copyOf(results.values()));
    }

    private static UserResult ok(String user) {
        return UserResult.newBuilder().setUser(user).setError(ControllerErrorCode.NONE).build();
    }

    /**
     * CreateAcls: each ACL gets a new id, unless the same ACL exists already (or earlier in this request), in which
     * case it succeeds without a record. Beyond {@link #MAX_ACLS} an ACL is refused with POLICY_VIOLATION.
     */
    public static ControllerResult<List<AclResult>> createAcls(MetadataImage image,
            List<AccessControlEntryRecord> acls, Supplier<UUID> ids) {
        Set<AccessControlEntryRecord> existing = new HashSet<>();
        image.acls().values().forEach(a -> existing.add(withoutId(a)));
        List<MetadataRecord> records = new ArrayList<>();
        List<AclResult> results = new ArrayList<>();
        for (AccessControlEntryRecord acl : acls) {
            AccessControlEntryRecord key = withoutId(acl);
            if (existing.contains(key)) {
                results.add(AclResult.newBuilder().setError(ControllerErrorCode.NONE).build());
                continue;
            }
            if (existing.size() >= MAX_ACLS) {
                results.add(AclResult.newBuilder().setError(ControllerErrorCode.POLICY_VIOLATION)
                        .setErrorMessage("the cluster holds " + MAX_ACLS + " ACLs, the most it allows").build());
                continue;
            }
            UUID id = ids.get();
            while (image.acls().containsKey(id)) {
                id = ids.get();
            }
            existing.add(key);
            records.add(MetadataRecord.newBuilder().setAccessControlEntry(acl.toBuilder()
                    .setId(Uuids.toProto(id))).build());
            results.add(AclResult.newBuilder().setError(ControllerErrorCode.NONE).build());
        }
        return ControllerResult.of(records, results);
    }

    private static AccessControlEntryRecord withoutId(AccessControlEntryRecord acl) {
        return acl.toBuilder().clearId().build();
    }

    /** DeleteAcls: every ACL matching a filter is removed; each filter's answer lists what it matched. */
    public static ControllerResult<List<DeletedAcls>> deleteAcls(MetadataImage image, List<AclFilter> filters) {
        Set<UUID> removed = new LinkedHashSet<>();
        List<DeletedAcls> results = new ArrayList<>();
        for (AclFilter filter : filters) {
            DeletedAcls.Builder matched = DeletedAcls.newBuilder();
            for (Map.Entry<UUID, AccessControlEntryRecord> acl : image.acls().entrySet()) {
                if (matches(filter, acl.getValue())) {
                    matched.addAcls(acl.getValue());
                    removed.add(acl.getKey());
                }
            }
            results.add(matched.build());
        }
        List<MetadataRecord> records = new ArrayList<>();
        removed.forEach(id -> records.add(MetadataRecord.newBuilder().setRemoveAccessControlEntry(
                RemoveAccessControlEntryRecord.newBuilder().setId(Uuids.toProto(id))).build()));
        return ControllerResult.of(records, results);
    }

    /** Kafka's {@code AclBindingFilter.matches}: the resource pattern filter, then the entry filter. */
    public static boolean matches(AclFilter filter, AccessControlEntryRecord acl) {
        return resourceMatches(filter, acl) && entryMatches(filter, acl);
    }

    private static boolean resourceMatches(AclFilter filter, AccessControlEntryRecord acl) {
        if (filter.getResourceType() != ANY && filter.getResourceType() != acl.getResourceType()) {
            return false;
        }
        int pattern = filter.getPatternType();
        if (pattern != ANY && pattern != PATTERN_MATCH && pattern != acl.getPatternType()) {
            return false;
        }
        if (!filter.hasResourceName()) {
            return true;
        }
        String name = filter.getResourceName();
        if (pattern == ANY || pattern == acl.getPatternType()) {
            return name.equals(acl.getResourceName());
        }
        // MATCH: the ACLs that would apply to a resource of this literal name.
        return switch (acl.getPatternType()) {
            case PATTERN_LITERAL -> name.equals(acl.getResourceName())
                    || acl.getResourceName().equals(WILDCARD_RESOURCE);
            case PATTERN_PREFIXED -> name.startsWith(acl.getResourceName());
            default -> false;
        };
    }

    private static boolean entryMatches(AclFilter filter, AccessControlEntryRecord acl) {
        if (filter.hasPrincipal() && !filter.getPrincipal().equals(acl.getPrincipal())) {
            return false;
        }
        if (filter.hasHost() && !filter.getHost().equals(acl.getHost())) {
            return false;
        }
        if (filter.getOperation() != ANY && filter.getOperation() != acl.getOperation()) {
            return false;
        }
        return filter.getPermissionType() == ANY || filter.getPermissionType() == acl.getPermissionType();
    }
}
