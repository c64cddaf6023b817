package io.tributary.node.security;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.server.authorizer.AuthorizationResult;

/**
 * An immutable index of the cluster's ACLs plus the authorizer settings; build one per metadata image.
 *
 * <p>Decisions follow Apache Kafka's KRaft authorizer: {@code authorize} is
 * {@code org.apache.kafka.metadata.authorizer.StandardAuthorizerData#authorize} and
 * {@code authorizeByResourceType} is the default method
 * {@code org.apache.kafka.server.authorizer.Authorizer#authorizeByResourceType}, which StandardAuthorizer does not
 * override. In short:
 * <ul>
 *   <li>A principal whose {@code Type:name} string is in {@code super.users} is allowed everything.</li>
 *   <li>An ACL applies to a resource of its resource type when its pattern is LITERAL with the resource's name, LITERAL
 *       with the wildcard name {@code *}, or PREFIXED with a prefix of the name (the whole name counts).</li>
 *   <li>Of the ACLs that apply to the resource, one matches the request when its principal equals the request's
 *       (type and name, case-sensitive) or is {@code User:*}, which stands for every principal of every type (a
 *       {@code Group:*} ACL matches only the principal literally named {@code Group:*}); its host equals the client's
 *       address string or is {@code *}; and its operation is the requested one, or ALL, or, for ALLOW ACLs only, one
 *       that implies it (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS).</li>
 *   <li>Any matching DENY denies; otherwise any matching ALLOW allows; otherwise, if no ACL at all applies to the
 *       resource (whatever its principal, host, operation or permission) the result is
 *       {@code allow.everyone.if.no.acl.found}; otherwise denied.</li>
 * </ul>
 *
 * <p>Lookups for one resource do not scan every ACL: ACLs are indexed per resource type by literal name (a hash map)
 * and by prefix (a sorted map walked from the resource name down through its prefixes only), so a lookup costs a few
 * hash probes plus at most one sorted-map probe per character of the name. {@link #authorizeByResourceType} and
 * {@link #acls} scan the ACLs of one type or all ACLs respectively, as Kafka does.
 *
 * <p>Thread-safety: immutable once constructed (the inputs are copied), so one instance may be shared by any number
 * of threads without synchronisation. No clocks, threads or I/O; no logging (audit logging is the caller's).
 */
public final class AclAuthorizer {

    /** The resource name of LITERAL ACLs that apply to every resource of their type, and the host of any host. */
    public static final String WILDCARD = ResourcePattern.WILDCARD_RESOURCE;

    /** The ACL principal that matches every principal, whatever its type (Kafka's StandardAuthorizerData.WILDCARD_PRINCIPAL). */
    public static final String WILDCARD_PRINCIPAL = "User:*";

    /** The only valid name of a CLUSTER resource. */
    public static final String CLUSTER_NAME = "kafka-cluster";

    /**
     * The name Kafka's default authorizeByResourceType first authorizes the operation on, so that super users (and
     * whoever the ACLs or the no-ACL default allow on that name) are allowed without looking at deny ACLs.
     */
    private static final String HARDCODED_NAME = "hardcode";

    private static final KafkaPrincipal WILDCARD_KAFKA_PRINCIPAL = new KafkaPrincipal(KafkaPrincipal.USER_TYPE, "*");

    /** Operations that, granted by an ALLOW ACL, also grant DESCRIBE. */
    private static final Set<AclOperation> IMPLIES_DESCRIBE = Collections.unmodifiableSet(
            EnumSet.of(AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE,
                    AclOperation.ALTER));

    /** Operations that, granted by an ALLOW ACL, also grant DESCRIBE_CONFIGS. */
    private static final Set<AclOperation> IMPLIES_DESCRIBE_CONFIGS = Collections.unmodifiableSet(
            EnumSet.of(AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS));

    /** The order {@link #acls} returns bindings in: by resource, then entry; independent of the input's order. */
    private static final Comparator<AclBinding> BINDING_ORDER = Comparator
            .comparing((AclBinding b) -> b.pattern().resourceType())
            .thenComparing(b -> b.pattern().patternType())
            .thenComparing(b -> b.pattern().name())
            .thenComparing(b -> b.entry().principal())
            .thenComparing(b -> b.entry().host())
            .thenComparing(b -> b.entry().operation())
            .thenComparing(b -> b.entry().permissionType());

    private final Set<String> superUsers;
    private final boolean allowEveryoneIfNoAclFound;
    /** Every ACL once, in {@link #BINDING_ORDER}. */
    private final List<AclBinding> bindings;
    private final Map<ResourceType, TypeIndex> byType;

    /**
     * superUsers like "User:admin" (Kafka's super.users, already split on ';'; each is trimmed and blank ones are
     * ignored, as Kafka does); allowEveryoneIfNoAclFound = Kafka's allow.everyone.if.no.acl.found.
     *
     * @throws IllegalArgumentException if an ACL is not one a cluster can hold (see {@link #validate}) or a super user
     *                                  is not of the form {@code Type:name}
     */
    public AclAuthorizer(Collection<AclBinding> acls, Set<String> superUsers, boolean allowEveryoneIfNoAclFound) {
        Objects.requireNonNull(acls, "acls");
        Objects.requireNonNull(superUsers, "superUsers");
        Set<String> supers = new HashSet<>();
        for (String user : superUsers) {
            String trimmed = Objects.requireNonNull(user, "super user").trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            if (trimmed.indexOf(':') < 0) {
                throw new IllegalArgumentException(
                        "super user must be of the form principalType:principalName, got " + trimmed);
            }
            supers.add(trimmed);
        }
        this.superUsers = Collections.unmodifiableSet(supers);
        this.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound;

        TreeSet<AclBinding> unique = new TreeSet<>(BINDING_ORDER);
        for (AclBinding acl : acls) {
            validate(acl);
            unique.add(acl);
        }
        this.bindings = List.copyOf(unique);

        Map<ResourceType, TypeIndex> index = new EnumMap<>(ResourceType.class);
        for (AclBinding acl : unique) {
            index.computeIfAbsent(acl.pattern().resourceType(), t -> new TypeIndex()).add(new Acl(acl));
        }
        this.byType = index;
    }

    /**
     * Throws IllegalArgumentException unless {@code acl} is one a cluster can hold, which is what Kafka's controller
     * (AclControlManager.validateNewAcl) and CreateAcls handling (AclApis) require: a concrete resource type; pattern
     * type LITERAL or PREFIXED; a non-empty resource name, which for CLUSTER is {@value #CLUSTER_NAME}; a concrete
     * operation (ALL allowed); permission ALLOW or DENY; and a principal of the form {@code Type:name} (Kafka does not
     * check that when the ACL is created but fails authorizations that meet such an ACL).
     */
    public static void validate(AclBinding acl) {
        Objects.requireNonNull(acl, "acl");
        ResourcePattern pattern = acl.pattern();
        switch (pattern.resourceType()) {
            case ANY:
            case UNKNOWN:
                throw new IllegalArgumentException("Invalid resourceType " + pattern.resourceType() + " in " + acl);
            default:
                break;
        }
        if (pattern.patternType() != PatternType.LITERAL && pattern.patternType() != PatternType.PREFIXED) {
            throw new IllegalArgumentException("Invalid patternType " + pattern.patternType() + " in " + acl);
        }
        if (pattern.name() == null || pattern.name().isEmpty()) {
            throw new IllegalArgumentException("Resource name should not be empty in " + acl);
        }
        if (pattern.resourceType() == ResourceType.CLUSTER && !CLUSTER_NAME.equals(pattern.name())) {
            throw new IllegalArgumentException("The only valid name for the CLUSTER resource is " + CLUSTER_NAME
                    + ", in " + acl);
        }
        switch (acl.entry().operation()) {
            case ANY:
            case UNKNOWN:
                throw new IllegalArgumentException("Invalid operation " + acl.entry().operation() + " in " + acl);
            default:
                break;
        }
        if (acl.entry().permissionType() != AclPermissionType.ALLOW
                && acl.entry().permissionType() != AclPermissionType.DENY) {
            throw new IllegalArgumentException("Invalid permissionType " + acl.entry().permissionType() + " in " + acl);
        }
        if (acl.entry().principal().indexOf(':') < 0) {
            throw new IllegalArgumentException(
                    "principal must be of the form principalType:principalName in " + acl);
        }
    }

    /**
     * op is a concrete operation (not ANY/ALL/UNKNOWN -> IllegalArgumentException); resourceType concrete; resourceName
     * the literal name of the resource (e.g. a topic name; "kafka-cluster" for CLUSTER). host is the client's IP
     * address as a string, as {@link java.net.InetAddress#getHostAddress()} writes it: it is compared as a string with
     * the ACLs' hosts.
     */
    public AuthorizationResult authorize(KafkaPrincipal principal, String host, AclOperation op,
                                         ResourceType resourceType, String resourceName) {
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(resourceName, "resourceName");
        requireConcrete(op, resourceType);
        KafkaPrincipal base = basePrincipal(principal);
        if (superUsers.contains(base.toString())) {
            return AuthorizationResult.ALLOWED;
        }
        return decide(base, host, op, resourceType, resourceName);
    }

    /**
     * Kafka's Authorizer.authorizeByResourceType semantics: ALLOWED if the principal would be allowed op on at least
     * one resource of this type (used for IDEMPOTENT_WRITE fallback: WRITE on any topic), taking deny ACLs (literal
     * and prefixed) into account the way Kafka's default implementation in
     * org.apache.kafka.server.authorizer.Authorizer#authorizeByResourceType does. Super users: ALLOWED.
     *
     * <p>As in Kafka: first {@link #authorize} on a resource named {@code "hardcode"}; if that allows (super user, an
     * ALLOW that applies to that name, or no ACL applying to it while allow.everyone.if.no.acl.found is set), ALLOWED.
     * Otherwise the ACLs of the type whose host and principal match and whose operation is op itself or ALL (no
     * implied operations here) decide: a wildcard-name DENY denies; else a wildcard-name ALLOW allows; else ALLOWED if
     * some LITERAL ALLOW name has no LITERAL DENY of the same name and no PREFIXED DENY that is a non-empty prefix of
     * it, or some PREFIXED ALLOW name has no PREFIXED DENY that is a non-empty prefix of it (a LITERAL DENY never
     * outweighs a PREFIXED ALLOW); else DENIED.
     */
    public AuthorizationResult authorizeByResourceType(KafkaPrincipal principal, String host, AclOperation op,
                                                       ResourceType resourceType) {
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(host, "host");
        requireConcrete(op, resourceType);
        if (authorize(principal, host, op, resourceType, HARDCODED_NAME) == AuthorizationResult.ALLOWED) {
            return AuthorizationResult.ALLOWED;
        }
        TypeIndex index = byType.get(resourceType);
        if (index == null) {
            return AuthorizationResult.DENIED;
        }
        KafkaPrincipal base = basePrincipal(principal);
        Set<String> denyLiteral = new HashSet<>();
        Set<String> denyPrefixed = new HashSet<>();
        Set<String> allowLiteral = new LinkedHashSet<>();
        Set<String> allowPrefixed = new LinkedHashSet<>();
        boolean wildcardAllow = false;
        for (Acl acl : index.all) {
            if (!acl.hostMatches(host) || !acl.principalMatches(base)
                    || (acl.operation != op && acl.operation != AclOperation.ALL)) {
                continue;
            }
            boolean literal = acl.patternType == PatternType.LITERAL;
            if (literal && acl.name.equals(WILDCARD)) {
                if (!acl.allow) {
                    return AuthorizationResult.DENIED;
                }
                wildcardAllow = true;
                continue;
            }
            if (acl.allow) {
                (literal ? allowLiteral : allowPrefixed).add(acl.name);
            } else {
                (literal ? denyLiteral : denyPrefixed).add(acl.name);
            }
        }
        if (wildcardAllow) {
            return AuthorizationResult.ALLOWED;
        }
        for (String name : allowLiteral) {
            if (!denyLiteral.contains(name) && !hasNonEmptyPrefixIn(name, denyPrefixed)) {
                return AuthorizationResult.ALLOWED;
            }
        }
        for (String name : allowPrefixed) {
            if (!hasNonEmptyPrefixIn(name, denyPrefixed)) {
                return AuthorizationResult.ALLOWED;
            }
        }
        return AuthorizationResult.DENIED;
    }

    /**
     * The ACLs matching a filter (DescribeAcls / DeleteAcls), via AclBindingFilter.matches; each ACL once, in an order
     * that does not depend on the order the ACLs were given in.
     */
    public List<AclBinding> acls(AclBindingFilter filter) {
        Objects.requireNonNull(filter, "filter");
        List<AclBinding> matching = new ArrayList<>();
        for (AclBinding binding : bindings) {
            if (filter.matches(binding)) {
                matching.add(binding);
            }
        }
        return matching;
    }

    /** How many distinct ACLs this authorizer holds. */
    public int aclCount() {
        return bindings.size();
    }

    /** The super users, trimmed. */
    public Set<String> superUsers() {
        return superUsers;
    }

    /** allow.everyone.if.no.acl.found. */
    public boolean allowEveryoneIfNoAclFound() {
        return allowEveryoneIfNoAclFound;
    }

    @Override
    public String toString() {
        return "AclAuthorizer(acls=" + bindings.size() + ", superUsers=" + superUsers.size()
                + ", allowEveryoneIfNoAclFound=" + allowEveryoneIfNoAclFound + ")";
    }

    // ---------------------------------------------------------------------------------------------------------------

    private AuthorizationResult decide(KafkaPrincipal principal, String host, AclOperation op,
                                       ResourceType resourceType, String name) {
        Verdict verdict = new Verdict();
        TypeIndex index = byType.get(resourceType);
        if (index != null) {
            verdict.consider(index.literal.get(name), principal, host, op);
            if (!verdict.denied && !name.equals(WILDCARD)) {
                verdict.consider(index.literal.get(WILDCARD), principal, host, op);
            }
            if (!verdict.denied) {
                index.forEachPrefixOf(name, acls -> verdict.consider(acls, principal, host, op));
            }
        }
        if (verdict.denied) {
            return AuthorizationResult.DENIED;
        }
        if (verdict.allowed) {
            return AuthorizationResult.ALLOWED;
        }
        return !verdict.resourceHasAcls && allowEveryoneIfNoAclFound
                ? AuthorizationResult.ALLOWED
                : AuthorizationResult.DENIED;
    }

    private static void requireConcrete(AclOperation op, ResourceType resourceType) {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(resourceType, "resourceType");
        if (op == AclOperation.ANY || op == AclOperation.ALL || op == AclOperation.UNKNOWN) {
            throw new IllegalArgumentException("Must specify a concrete operation, not " + op);
        }
        if (resourceType == ResourceType.ANY || resourceType == ResourceType.UNKNOWN) {
            throw new IllegalArgumentException("Must specify a concrete resource type, not " + resourceType);
        }
    }

    /**
     * Kafka compares principals with KafkaPrincipal.equals, which also compares classes, so a subclass a principal
     * builder returned is first reduced to a plain KafkaPrincipal of the same type and name (as StandardAuthorizerData
     * does).
     */
    private static KafkaPrincipal basePrincipal(KafkaPrincipal principal) {
        return principal.getClass() == KafkaPrincipal.class
                ? principal
                : new KafkaPrincipal(principal.getPrincipalType(), principal.getName());
    }

    /** Whether some non-empty prefix of name, the whole name included, is in prefixes. */
    private static boolean hasNonEmptyPrefixIn(String name, Set<String> prefixes) {
        if (prefixes.isEmpty()) {
            return false;
        }
        for (int end = 1; end <= name.length(); end++) {
            if (prefixes.contains(name.substring(0, end))) {
                return true;
            }
        }
        return false;
    }

    private static int commonPrefixLength(String a, String b) {
        int limit = Math.min(a.length(), b.length());
        int i = 0;
        while (i < limit && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    /** One ACL, with its principal parsed once. */
    private static final class Acl {
        final PatternType patternType;
        final String name;
        final KafkaPrincipal principal;
        final boolean wildcardPrincipal;
        final String host;
        final AclOperation operation;
        final boolean allow;

        Acl(AclBinding binding) {
            this.patternType = binding.pattern().patternType();
            this.name = binding.pattern().name();
            String principalString = binding.entry().principal();
            int colon = principalString.indexOf(':');
            this.principal = new KafkaPrincipal(principalString.substring(0, colon), principalString.substring(colon + 1));
            this.wildcardPrincipal = principal.equals(WILDCARD_KAFKA_PRINCIPAL);
            this.host = binding.entry().host();
            this.operation = binding.entry().operation();
            this.allow = binding.entry().permissionType() == AclPermissionType.ALLOW;
        }

        boolean principalMatches(KafkaPrincipal requester) {
            return wildcardPrincipal || principal.equals(requester);
        }

        boolean hostMatches(String requesterHost) {
            return host.equals(WILDCARD) || host.equals(requesterHost);
        }

        /** StandardAuthorizerData.findResult's operation rule: ALL, the operation itself, or (ALLOW only) an implying one. */
        boolean operationMatches(AclOperation requested) {
            if (operation == AclOperation.ALL || operation == requested) {
                return true;
            }
            if (!allow) {
                return false;
            }
            switch (requested) {
                case DESCRIBE:
                    return IMPLIES_DESCRIBE.contains(operation);
                case DESCRIBE_CONFIGS:
                    return IMPLIES_DESCRIBE_CONFIGS.contains(operation);
                default:
                    return false;
            }
        }
    }

    /** What the ACLs that apply to one resource say about one request. */
    private static final class Verdict {
        boolean resourceHasAcls;
        boolean allowed;
        boolean denied;

        void consider(List<Acl> acls, KafkaPrincipal principal, String host, AclOperation op) {
            if (acls == null || acls.isEmpty()) {
                return;
            }
            resourceHasAcls = true;
            for (Acl acl : acls) {
                if (acl.principalMatches(principal) && acl.hostMatches(host) && acl.operationMatches(op)) {
                    if (!acl.allow) {
                        denied = true;
                        return;
                    }
                    allowed = true;
                }
            }
        }
    }

    /** The ACLs of one resource type. */
    private static final class TypeIndex {
        /** LITERAL ACLs by resource name, the wildcard name included. */
        final Map<String, List<Acl>> literal = new HashMap<>();
        /** PREFIXED ACLs by prefix. */
        final NavigableMap<String, List<Acl>> prefixed = new TreeMap<>();
        final List<Acl> all = new ArrayList<>();

        void add(Acl acl) {
            Map<String, List<Acl>> byName = acl.patternType == PatternType.LITERAL ? literal : prefixed;
            byName.computeIfAbsent(acl.name, n -> new ArrayList<>()).add(acl);
            all.add(acl);
        }

        /**
         * Calls action with the ACLs of every prefix in {@link #prefixed} that is a prefix of name (the whole name
         * included), longest first. Walks down with floor lookups: the greatest key at or below a prefix of name
         * either is a prefix of name, or shares some first L characters with it, and then every remaining prefix of
         * name that is a key is at most L long; so each step shortens the candidate, and the walk costs at most one
         * lookup per character of name however many PREFIXED ACLs there are.
         */
        void forEachPrefixOf(String name, Consumer<List<Acl>> action) {
            if (prefixed.isEmpty()) {
                return;
            }
            String candidate = name;
            while (true) {
                String key = prefixed.floorKey(candidate);
                if (key == null) {
                    return;
                }
                int common = commonPrefixLength(key, name);
                if (common == key.length()) {
                    action.accept(prefixed.get(key));
                    if (key.isEmpty()) {
                        return;
                    }
                    candidate = name.substring(0, key.length() - 1);
                } else {
                    candidate = name.substring(0, common);
                }
            }
        }
    }
}
