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
    static final int RESOURCE_CLUSTER = 4;
    static final String CLUSTER_NAME = "kafka-cluster";

    private SecurityDecisions() {}

    /**
     * AlterUserScramCredentials: every upsertion replaces the user's credential for its mechanism; a deletion of a
     * credential that does not exist fails with RESOURCE_NOT_FOUND, a malformed record with INVALID_REQUEST, and
     * going over {@link #MAX_SCRAM_CREDENTIALS} with POLICY_VIOLATION; each user's changes apply all or not at all.
     * One result per user, in the order users are first named.
     */
    public static ControllerResult<List<UserResult>> alterScramCredentials(MetadataImage image,
            List<UserScramCredentialRecord> upsertions, List<RemoveUserScramCredentialRecord> deletions) {
        Map<String, List<RemoveUserScramCredentialRecord>> deletionsByUser = new LinkedHashMap<>();
        Map<String, List<UserScramCredentialRecord>> upsertionsByUser = new LinkedHashMap<>();
        Set<String> users = new LinkedHashSet<>();
        for (RemoveUserScramCredentialRecord d : deletions) {
            users.add(d.getName());
            deletionsByUser.computeIfAbsent(d.getName(), n -> new ArrayList<>()).add(d);
        }
        for (UserScramCredentialRecord u : upsertions) {
            users.add(u.getName());
            upsertionsByUser.computeIfAbsent(u.getName(), n -> new ArrayList<>()).add(u);
        }
        int credentials = image.scramCredentials().values().stream().mapToInt(Map::size).sum();
        List<MetadataRecord> records = new ArrayList<>();
        List<UserResult> results = new ArrayList<>();
        for (String user : users) {
            List<RemoveUserScramCredentialRecord> removals = deletionsByUser.getOrDefault(user, List.of());
            List<UserScramCredentialRecord> additions = upsertionsByUser.getOrDefault(user, List.of());
            Map<Integer, UserScramCredentialRecord> after =
                    new java.util.TreeMap<>(image.scramCredentials().getOrDefault(user, Map.of()));
            int before = after.size();
            UserResult refusal = null;
            for (RemoveUserScramCredentialRecord d : removals) {
                if (after.remove(d.getMechanism()) == null) {
                    refusal = refused(user, ControllerErrorCode.RESOURCE_NOT_FOUND,
                            "Attempt to delete a user credential that does not exist");
                }
            }
            for (UserScramCredentialRecord u : additions) {
                if (refusal == null && scramProblem(u) != null) {
                    refusal = refused(user, ControllerErrorCode.INVALID_REQUEST, scramProblem(u));
                }
                after.put(u.getMechanism(), u);
            }
            int delta = after.size() - before;
            if (refusal == null && delta > 0 && credentials + delta > MAX_SCRAM_CREDENTIALS) {
                refusal = refused(user, ControllerErrorCode.POLICY_VIOLATION, "the cluster holds "
                        + MAX_SCRAM_CREDENTIALS + " SCRAM credentials, the most it allows");
            }
            if (refusal != null) {
                results.add(refusal);
                continue;
            }
            credentials += delta;
            removals.forEach(d -> records.add(MetadataRecord.newBuilder().setRemoveUserScramCredential(d).build()));
            additions.forEach(u -> records.add(MetadataRecord.newBuilder().setUserScramCredential(u).build()));
            results.add(UserResult.newBuilder().setUser(user).setError(ControllerErrorCode.NONE).build());
        }
        return ControllerResult.of(records, results);
    }

    private static UserResult refused(String user, ControllerErrorCode error, String message) {
        return UserResult.newBuilder().setUser(user).setError(error).setErrorMessage(message).build();
    }

    /** Why a credential record cannot be stored (the broker checks the same first), or null. */
    static String scramProblem(UserScramCredentialRecord u) {
        if (u.getName().isEmpty()) {
            return "Username must not be empty";
        }
        if (u.getMechanism() != 1 && u.getMechanism() != 2) {
            return "Unknown SCRAM mechanism " + u.getMechanism();
        }
        if (u.getIterations() < 4096 || u.getIterations() > 16384) {
            return "Iterations must be in 4096..16384, was " + u.getIterations();
        }
        if (u.getSalt().isEmpty() || u.getStoredKey().isEmpty() || u.getServerKey().isEmpty()) {
            return "Salt, stored key and server key must not be empty";
        }
        return null;
    }

    /**
     * Why an ACL cannot be stored, or null: Kafka's {@code AclControlManager.validateNewAcl} on the codes (the broker
     * checks the same with kafka-clients first; this keeps a malformed record out of the metadata whoever asks).
     */
    static String aclProblem(AccessControlEntryRecord acl) {
        if (acl.getResourceType() < 2 || acl.getResourceType() > 7) {
            return "Invalid resourceType " + acl.getResourceType();
        }
        if (acl.getPatternType() != PATTERN_LITERAL && acl.getPatternType() != PATTERN_PREFIXED) {
            return "Invalid patternType " + acl.getPatternType();
        }
        if (acl.getResourceName().isEmpty()) {
            return "Resource name should not be empty";
        }
        if (acl.getResourceType() == RESOURCE_CLUSTER && !acl.getResourceName().equals(CLUSTER_NAME)) {
            return "The only valid name for the CLUSTER resource is " + CLUSTER_NAME;
        }
        if (acl.getOperation() < 2 || acl.getOperation() > 15) {
            return "Invalid operation " + acl.getOperation();
        }
        if (acl.getPermissionType() != 2 && acl.getPermissionType() != 3) {
            return "Invalid permissionType " + acl.getPermissionType();
        }
        int colon = acl.getPrincipal().indexOf(':');
        if (colon <= 0 || colon == acl.getPrincipal().length() - 1) {
            return "Invalid principal " + acl.getPrincipal();
        }
        if (acl.getHost().isEmpty()) {
            return "Invalid host";
        }
        return null;
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
            String problem = aclProblem(acl);
            if (problem != null) {
                results.add(AclResult.newBuilder().setError(ControllerErrorCode.INVALID_REQUEST)
                        .setErrorMessage(problem).build());
                continue;
            }
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
