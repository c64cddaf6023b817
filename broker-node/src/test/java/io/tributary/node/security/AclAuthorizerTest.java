package io.tributary.node.security;

import static org.apache.kafka.common.acl.AclOperation.ALL;
import static org.apache.kafka.common.acl.AclOperation.ALTER;
import static org.apache.kafka.common.acl.AclOperation.ALTER_CONFIGS;
import static org.apache.kafka.common.acl.AclOperation.CREATE;
import static org.apache.kafka.common.acl.AclOperation.DELETE;
import static org.apache.kafka.common.acl.AclOperation.DESCRIBE;
import static org.apache.kafka.common.acl.AclOperation.DESCRIBE_CONFIGS;
import static org.apache.kafka.common.acl.AclOperation.IDEMPOTENT_WRITE;
import static org.apache.kafka.common.acl.AclOperation.READ;
import static org.apache.kafka.common.acl.AclOperation.WRITE;
import static org.apache.kafka.common.resource.PatternType.LITERAL;
import static org.apache.kafka.common.resource.PatternType.PREFIXED;
import static org.apache.kafka.common.resource.ResourceType.CLUSTER;
import static org.apache.kafka.common.resource.ResourceType.GROUP;
import static org.apache.kafka.common.resource.ResourceType.TOPIC;
import static org.apache.kafka.common.resource.ResourceType.TRANSACTIONAL_ID;
import static org.apache.kafka.server.authorizer.AuthorizationResult.ALLOWED;
import static org.apache.kafka.server.authorizer.AuthorizationResult.DENIED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.server.authorizer.AuthorizationResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * AclAuthorizer against the rules of Kafka's StandardAuthorizerData (authorize) and Authorizer#authorizeByResourceType.
 * Most rules are tables of cases: the ACLs, who asks for what from where, and the expected result. Unless a case says
 * otherwise the requester is User:alice from 10.0.0.1, allow.everyone.if.no.acl.found is false and User:admin is the
 * only super user.
 */
class AclAuthorizerTest {

    private static final KafkaPrincipal ALICE = new KafkaPrincipal("User", "alice");
    private static final KafkaPrincipal BOB = new KafkaPrincipal("User", "bob");
    private static final KafkaPrincipal ADMIN = new KafkaPrincipal("User", "admin");
    private static final String HOST = "10.0.0.1";
    private static final String OTHER_HOST = "10.0.0.2";

    // ---- ACL builders ---------------------------------------------------------------------------------------------

    private static AclBinding acl(AclPermissionType permission, ResourceType type, String name, PatternType pattern,
                                  String principal, String host, AclOperation op) {
        return new AclBinding(new ResourcePattern(type, name, pattern),
                new AccessControlEntry(principal, host, op, permission));
    }

    private static AclBinding allow(ResourceType type, String name, PatternType pattern, String principal,
                                    AclOperation op) {
        return acl(AclPermissionType.ALLOW, type, name, pattern, principal, "*", op);
    }

    private static AclBinding deny(ResourceType type, String name, PatternType pattern, String principal,
                                   AclOperation op) {
        return acl(AclPermissionType.DENY, type, name, pattern, principal, "*", op);
    }

    /** ALLOW for User:alice from any host on a topic. */
    private static AclBinding allowAlice(String topic, PatternType pattern, AclOperation op) {
        return allow(TOPIC, topic, pattern, "User:alice", op);
    }

    /** DENY for User:alice from any host on a topic. */
    private static AclBinding denyAlice(String topic, PatternType pattern, AclOperation op) {
        return deny(TOPIC, topic, pattern, "User:alice", op);
    }

    private static AclAuthorizer authorizer(boolean allowEveryone, AclBinding... acls) {
        return new AclAuthorizer(List.of(acls), Set.of("User:admin"), allowEveryone);
    }

    // ---- one row of a table ---------------------------------------------------------------------------------------

    /** A request and its expected result; toString is the behaviour, which names the parameterized test. */
    private static final class Case {
        final String behaviour;
        final List<AclBinding> acls;
        boolean allowEveryone;
        KafkaPrincipal principal = ALICE;
        String host = HOST;
        AclOperation op;
        ResourceType type;
        String name;
        AuthorizationResult expected;

        Case(String behaviour, AclBinding... acls) {
            this.behaviour = behaviour;
            this.acls = List.of(acls);
        }

        Case allowEveryone() {
            allowEveryone = true;
            return this;
        }

        Case by(KafkaPrincipal p) {
            principal = p;
            return this;
        }

        Case from(String h) {
            host = h;
            return this;
        }

        Case expect(AclOperation o, ResourceType t, String n, AuthorizationResult result) {
            op = o;
            type = t;
            name = n;
            expected = result;
            return this;
        }

        /** For authorizeByResourceType rows: no resource name. */
        Case expect(AclOperation o, ResourceType t, AuthorizationResult result) {
            return expect(o, t, null, result);
        }

        AclAuthorizer authorizer() {
            return new AclAuthorizer(acls, Set.of("User:admin"), allowEveryone);
        }

        @Override
        public String toString() {
            return behaviour;
        }
    }

    private static Case when(String behaviour, AclBinding... acls) {
        return new Case(behaviour, acls);
    }

    private static void check(Case c) {
        assertThat(c.authorizer().authorize(c.principal, c.host, c.op, c.type, c.name))
                .as("%s: %s from %s %s %s:%s with %s", c.behaviour, c.principal, c.host, c.op, c.type, c.name, c.acls)
                .isEqualTo(c.expected);
    }

    // ---- which ACLs apply to a resource ---------------------------------------------------------------------------

    static Stream<Case> resourcePatternCases() {
        return Stream.of(
                when("a LITERAL ACL applies to the resource of that name",
                        allowAlice("orders", LITERAL, READ)).expect(READ, TOPIC, "orders", ALLOWED),
                when("a LITERAL ACL does not apply to a longer name it is a prefix of",
                        allowAlice("orders", LITERAL, READ)).expect(READ, TOPIC, "orders-eu", DENIED),
                when("a LITERAL ACL does not apply to a shorter name",
                        allowAlice("orders-eu", LITERAL, READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a LITERAL * ACL applies to every name of its type",
                        allowAlice("*", LITERAL, READ)).expect(READ, TOPIC, "anything", ALLOWED),
                when("a PREFIXED ACL applies to a name starting with it",
                        allowAlice("ord", PREFIXED, READ)).expect(READ, TOPIC, "orders", ALLOWED),
                when("a PREFIXED ACL applies to the name equal to it",
                        allowAlice("orders", PREFIXED, READ)).expect(READ, TOPIC, "orders", ALLOWED),
                when("a PREFIXED ACL longer than the name does not apply",
                        allowAlice("orders-", PREFIXED, READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a PREFIXED ACL that diverges from the name does not apply",
                        allowAlice("ordx", PREFIXED, READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a PREFIXED * is an ordinary prefix, not a wildcard",
                        allowAlice("*", PREFIXED, READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a short PREFIXED ACL is found past prefixes that sort between it and the name",
                        allowAlice("o", PREFIXED, READ),
                        allow(TOPIC, "oa", PREFIXED, "User:bob", READ),
                        allow(TOPIC, "orc", PREFIXED, "User:bob", READ),
                        allow(TOPIC, "ordera", PREFIXED, "User:bob", READ),
                        allow(TOPIC, "orders-eu", PREFIXED, "User:bob", READ),
                        allow(TOPIC, "ordersz", PREFIXED, "User:bob", READ),
                        allow(TOPIC, "p", PREFIXED, "User:bob", READ)).expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL on another resource type with the same name does not apply",
                        allow(GROUP, "orders", LITERAL, "User:alice", READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a wildcard ACL on another resource type does not apply",
                        allow(GROUP, "*", LITERAL, "User:alice", READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a PREFIXED ACL on another resource type does not apply",
                        allow(GROUP, "ord", PREFIXED, "User:alice", READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a CLUSTER ACL applies to kafka-cluster",
                        allow(CLUSTER, "kafka-cluster", LITERAL, "User:alice", ALTER))
                        .expect(ALTER, CLUSTER, "kafka-cluster", ALLOWED),
                when("a PREFIXED transactional id ACL applies to ids starting with it",
                        allow(TRANSACTIONAL_ID, "app-", PREFIXED, "User:alice", WRITE))
                        .expect(WRITE, TRANSACTIONAL_ID, "app-1", ALLOWED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("resourcePatternCases")
    void anAclAppliesToItsLiteralNameTheWildcardNameOrNamesStartingWithItsPrefix(Case c) {
        check(c);
    }

    /**
     * The prefix index against the definition: many PREFIXED ACLs over a three-letter alphabet, each for its own
     * principal, and every name of up to five letters; a principal is allowed exactly when its prefix starts the name.
     */
    @Test
    void everyPrefixedAclThatStartsTheNameIsFoundAndNoOther() {
        Random random = new Random(20240607L);
        String alphabet = "ab.";
        List<String> prefixes = new ArrayList<>(new TreeSet<>(randomWords(random, alphabet, 80, 1, 4)));
        List<AclBinding> acls = new ArrayList<>();
        for (int i = 0; i < prefixes.size(); i++) {
            acls.add(allow(TOPIC, prefixes.get(i), PREFIXED, "User:p" + i, READ));
            // LITERAL ACLs with the same names, for someone else, must not disturb the prefix walk
            acls.add(allow(TOPIC, prefixes.get(i), LITERAL, "User:literal", READ));
        }
        Collections.shuffle(acls, random);
        AclAuthorizer authorizer = new AclAuthorizer(acls, Set.of(), false);

        List<String> names = allWords(alphabet, 5);
        int allowedCount = 0;
        for (String name : names) {
            for (int i = 0; i < prefixes.size(); i++) {
                AuthorizationResult expected = name.startsWith(prefixes.get(i)) ? ALLOWED : DENIED;
                assertThat(authorizer.authorize(new KafkaPrincipal("User", "p" + i), HOST, READ, TOPIC, name))
                        .as("prefix %s, name %s", prefixes.get(i), name).isEqualTo(expected);
                if (expected == ALLOWED) {
                    allowedCount++;
                }
            }
        }
        assertThat(allowedCount).as("the table exercises matches as well as misses").isGreaterThan(names.size());
    }

    private static List<String> randomWords(Random random, String alphabet, int count, int minLength, int maxLength) {
        List<String> words = new ArrayList<>();
        for (int w = 0; w < count; w++) {
            int length = minLength + random.nextInt(maxLength - minLength + 1);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < length; i++) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            words.add(sb.toString());
        }
        return words;
    }

    private static List<String> allWords(String alphabet, int maxLength) {
        List<String> words = new ArrayList<>();
        List<String> level = List.of("");
        for (int length = 1; length <= maxLength; length++) {
            List<String> next = new ArrayList<>();
            for (String prefix : level) {
                for (char ch : alphabet.toCharArray()) {
                    next.add(prefix + ch);
                }
            }
            words.addAll(next);
            level = next;
        }
        return words;
    }

    // ---- DENY wins ------------------------------------------------------------------------------------------------

    static Stream<Case> denyCases() {
        return Stream.of(
                when("a LITERAL DENY beats a LITERAL ALLOW",
                        allowAlice("orders", LITERAL, READ), denyAlice("orders", LITERAL, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a PREFIXED DENY beats a LITERAL ALLOW",
                        allowAlice("orders", LITERAL, READ), denyAlice("ord", PREFIXED, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a wildcard DENY beats a LITERAL ALLOW",
                        allowAlice("orders", LITERAL, READ), denyAlice("*", LITERAL, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a LITERAL DENY beats a wildcard ALLOW",
                        allowAlice("*", LITERAL, READ), denyAlice("orders", LITERAL, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a LITERAL DENY beats a PREFIXED ALLOW",
                        allowAlice("ord", PREFIXED, READ), denyAlice("orders", LITERAL, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a DENY for User:* beats an ALLOW for the principal",
                        allowAlice("orders", LITERAL, READ), deny(TOPIC, "orders", LITERAL, "User:*", READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a DENY of ALL beats an ALLOW of the operation",
                        allowAlice("orders", LITERAL, READ), denyAlice("orders", LITERAL, ALL))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a DENY of the operation beats an ALLOW of ALL",
                        allowAlice("orders", LITERAL, ALL), denyAlice("orders", LITERAL, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a DENY for another principal does not apply",
                        allowAlice("orders", LITERAL, READ), deny(TOPIC, "orders", LITERAL, "User:bob", READ))
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("a DENY of another operation does not apply",
                        allowAlice("orders", LITERAL, READ), denyAlice("orders", LITERAL, WRITE))
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("a DENY from another host does not apply",
                        allowAlice("orders", LITERAL, READ),
                        acl(AclPermissionType.DENY, TOPIC, "orders", LITERAL, "User:alice", OTHER_HOST, READ))
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("a DENY from the client's host applies",
                        allowAlice("orders", LITERAL, READ),
                        acl(AclPermissionType.DENY, TOPIC, "orders", LITERAL, "User:alice", HOST, READ))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a PREFIXED DENY that does not start the name does not apply",
                        allowAlice("orders", LITERAL, READ), denyAlice("ordx", PREFIXED, READ))
                        .expect(READ, TOPIC, "orders", ALLOWED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("denyCases")
    void aMatchingDenyWinsOverAnyMatchingAllow(Case c) {
        check(c);
    }

    // ---- operations: ALL and implied operations -------------------------------------------------------------------

    static Stream<Case> operationCases() {
        return Stream.of(
                when("ALLOW of ALL grants WRITE", allowAlice("orders", LITERAL, ALL))
                        .expect(WRITE, TOPIC, "orders", ALLOWED),
                when("ALLOW of ALL grants ALTER_CONFIGS", allowAlice("orders", LITERAL, ALL))
                        .expect(ALTER_CONFIGS, TOPIC, "orders", ALLOWED),
                when("ALLOW of READ does not grant WRITE", allowAlice("orders", LITERAL, READ))
                        .expect(WRITE, TOPIC, "orders", DENIED),
                when("ALLOW of READ implies DESCRIBE", allowAlice("orders", LITERAL, READ))
                        .expect(DESCRIBE, TOPIC, "orders", ALLOWED),
                when("ALLOW of WRITE implies DESCRIBE", allowAlice("orders", LITERAL, WRITE))
                        .expect(DESCRIBE, TOPIC, "orders", ALLOWED),
                when("ALLOW of DELETE implies DESCRIBE", allowAlice("orders", LITERAL, DELETE))
                        .expect(DESCRIBE, TOPIC, "orders", ALLOWED),
                when("ALLOW of ALTER implies DESCRIBE", allowAlice("orders", LITERAL, ALTER))
                        .expect(DESCRIBE, TOPIC, "orders", ALLOWED),
                when("a PREFIXED ALLOW of WRITE implies DESCRIBE", allowAlice("ord", PREFIXED, WRITE))
                        .expect(DESCRIBE, TOPIC, "orders", ALLOWED),
                when("ALLOW of CREATE does not imply DESCRIBE", allowAlice("orders", LITERAL, CREATE))
                        .expect(DESCRIBE, TOPIC, "orders", DENIED),
                when("ALLOW of ALTER_CONFIGS does not imply DESCRIBE", allowAlice("orders", LITERAL, ALTER_CONFIGS))
                        .expect(DESCRIBE, TOPIC, "orders", DENIED),
                when("ALLOW of DESCRIBE_CONFIGS does not imply DESCRIBE",
                        allowAlice("orders", LITERAL, DESCRIBE_CONFIGS)).expect(DESCRIBE, TOPIC, "orders", DENIED),
                when("ALLOW of DESCRIBE does not imply READ", allowAlice("orders", LITERAL, DESCRIBE))
                        .expect(READ, TOPIC, "orders", DENIED),
                when("ALLOW of ALTER_CONFIGS implies DESCRIBE_CONFIGS", allowAlice("orders", LITERAL, ALTER_CONFIGS))
                        .expect(DESCRIBE_CONFIGS, TOPIC, "orders", ALLOWED),
                when("ALLOW of DESCRIBE_CONFIGS grants DESCRIBE_CONFIGS",
                        allowAlice("orders", LITERAL, DESCRIBE_CONFIGS))
                        .expect(DESCRIBE_CONFIGS, TOPIC, "orders", ALLOWED),
                when("ALLOW of ALTER does not imply DESCRIBE_CONFIGS", allowAlice("orders", LITERAL, ALTER))
                        .expect(DESCRIBE_CONFIGS, TOPIC, "orders", DENIED),
                when("ALLOW of READ does not imply DESCRIBE_CONFIGS", allowAlice("orders", LITERAL, READ))
                        .expect(DESCRIBE_CONFIGS, TOPIC, "orders", DENIED),
                when("DENY of READ does not deny DESCRIBE",
                        allowAlice("orders", LITERAL, DESCRIBE), denyAlice("orders", LITERAL, READ))
                        .expect(DESCRIBE, TOPIC, "orders", ALLOWED),
                when("DENY of ALTER_CONFIGS does not deny DESCRIBE_CONFIGS",
                        allowAlice("orders", LITERAL, DESCRIBE_CONFIGS), denyAlice("orders", LITERAL, ALTER_CONFIGS))
                        .expect(DESCRIBE_CONFIGS, TOPIC, "orders", ALLOWED),
                when("DENY of DESCRIBE beats the DESCRIBE an ALLOW of READ implies",
                        allowAlice("orders", LITERAL, READ), denyAlice("orders", LITERAL, DESCRIBE))
                        .expect(DESCRIBE, TOPIC, "orders", DENIED),
                when("ALLOW of IDEMPOTENT_WRITE on the cluster grants it",
                        allow(CLUSTER, "kafka-cluster", LITERAL, "User:alice", IDEMPOTENT_WRITE))
                        .expect(IDEMPOTENT_WRITE, CLUSTER, "kafka-cluster", ALLOWED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operationCases")
    void allGrantsEveryOperationAndAllowsImplyDescribeButDeniesImplyNothing(Case c) {
        check(c);
    }

    // ---- principals and hosts -------------------------------------------------------------------------------------

    static Stream<Case> principalAndHostCases() {
        return Stream.of(
                when("an ACL for the principal applies", allowAlice("orders", LITERAL, READ))
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL for another principal does not apply", allowAlice("orders", LITERAL, READ))
                        .by(BOB).expect(READ, TOPIC, "orders", DENIED),
                when("an ACL for User:* applies to any user",
                        allow(TOPIC, "orders", LITERAL, "User:*", READ)).expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL for User:* applies to a principal of another type",
                        allow(TOPIC, "orders", LITERAL, "User:*", READ))
                        .by(new KafkaPrincipal("Group", "eng")).expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL for Group:* is no wildcard: it does not apply to Group:eng",
                        allow(TOPIC, "orders", LITERAL, "Group:*", READ))
                        .by(new KafkaPrincipal("Group", "eng")).expect(READ, TOPIC, "orders", DENIED),
                when("an ACL for User:alice does not apply to Group:alice", allowAlice("orders", LITERAL, READ))
                        .by(new KafkaPrincipal("Group", "alice")).expect(READ, TOPIC, "orders", DENIED),
                when("principal types are case-sensitive",
                        allow(TOPIC, "orders", LITERAL, "user:alice", READ)).expect(READ, TOPIC, "orders", DENIED),
                when("principal names are case-sensitive",
                        allow(TOPIC, "orders", LITERAL, "User:Alice", READ)).expect(READ, TOPIC, "orders", DENIED),
                when("a principal name may contain colons (the type ends at the first)",
                        allow(TOPIC, "orders", LITERAL, "User:CN=alice:x", READ))
                        .by(new KafkaPrincipal("User", "CN=alice:x")).expect(READ, TOPIC, "orders", ALLOWED),
                when("a principal builder's KafkaPrincipal subclass matches like a plain principal",
                        allowAlice("orders", LITERAL, READ))
                        .by(new CustomPrincipal("User", "alice")).expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL for the client's host applies",
                        acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "User:alice", HOST, READ))
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL for another host does not apply",
                        acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "User:alice", HOST, READ))
                        .from(OTHER_HOST).expect(READ, TOPIC, "orders", DENIED),
                when("an ACL for host * applies from any host", allowAlice("orders", LITERAL, READ))
                        .from("192.168.7.7").expect(READ, TOPIC, "orders", ALLOWED),
                when("hosts are compared as strings: ::1 is not 0:0:0:0:0:0:0:1",
                        acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "User:alice", "::1", READ))
                        .from("0:0:0:0:0:0:0:1").expect(READ, TOPIC, "orders", DENIED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("principalAndHostCases")
    void anAclMatchesItsPrincipalOrEveryoneForUserStarFromItsHostOrAnyForStar(Case c) {
        check(c);
    }

    /** What a custom KafkaPrincipalBuilder may return; KafkaPrincipal.equals compares classes. */
    private static final class CustomPrincipal extends KafkaPrincipal {
        CustomPrincipal(String type, String name) {
            super(type, name);
        }

        @Override
        public String toString() {
            return "CustomPrincipal(" + getPrincipalType() + "/" + getName() + ")";
        }
    }

    // ---- allow.everyone.if.no.acl.found ---------------------------------------------------------------------------

    static Stream<Case> noAclFoundCases() {
        return Stream.of(
                when("with no ACLs and the setting on, anyone is allowed").allowEveryone()
                        .expect(WRITE, TOPIC, "orders", ALLOWED),
                when("with no ACLs and the setting off, no one is allowed")
                        .expect(WRITE, TOPIC, "orders", DENIED),
                when("an ACL for another principal on the resource means ACLs are found",
                        allow(TOPIC, "orders", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a DENY for another principal on the resource means ACLs are found",
                        deny(TOPIC, "orders", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", DENIED),
                when("an ACL for another operation on the resource means ACLs are found",
                        allowAlice("orders", LITERAL, WRITE)).allowEveryone()
                        .expect(READ, TOPIC, "orders", DENIED),
                when("an ACL for another host on the resource means ACLs are found",
                        acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "User:alice", OTHER_HOST, READ))
                        .allowEveryone().expect(READ, TOPIC, "orders", DENIED),
                when("a DENY of READ leaves DESCRIBE denied, not defaulted, under the setting",
                        denyAlice("orders", LITERAL, READ)).allowEveryone()
                        .expect(DESCRIBE, TOPIC, "orders", DENIED),
                when("a PREFIXED ACL for another principal covering the resource means ACLs are found",
                        allow(TOPIC, "ord", PREFIXED, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", DENIED),
                when("a wildcard ACL for another principal means ACLs are found",
                        allow(TOPIC, "*", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", DENIED),
                when("an ACL on another topic does not count",
                        allow(TOPIC, "payments", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("a LITERAL ACL on a prefix of the name does not count",
                        allow(TOPIC, "orders", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders-eu", ALLOWED),
                when("a PREFIXED ACL that does not start the name does not count",
                        allow(TOPIC, "ordx", PREFIXED, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("an ACL on another resource type with the same name does not count",
                        allow(GROUP, "orders", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("a wildcard ACL on another resource type does not count",
                        allow(GROUP, "*", LITERAL, "User:bob", READ)).allowEveryone()
                        .expect(READ, TOPIC, "orders", ALLOWED),
                when("with the setting off, an ACL for someone else still denies",
                        allow(TOPIC, "orders", LITERAL, "User:bob", READ))
                        .expect(READ, TOPIC, "orders", DENIED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("noAclFoundCases")
    void allowEveryoneIfNoAclFoundAppliesOnlyWhenNoAclAtAllAppliesToTheResource(Case c) {
        check(c);
    }

    // ---- super users ----------------------------------------------------------------------------------------------

    @Test
    void superUsersAreAllowedEverythingWhateverTheAcls() {
        AclAuthorizer denyAll = authorizer(false, deny(TOPIC, "*", LITERAL, "User:*", ALL),
                deny(CLUSTER, "kafka-cluster", LITERAL, "User:admin", ALL));
        assertThat(denyAll.authorize(ADMIN, HOST, WRITE, TOPIC, "orders")).isEqualTo(ALLOWED);
        assertThat(denyAll.authorize(ADMIN, HOST, ALTER, CLUSTER, "kafka-cluster")).isEqualTo(ALLOWED);
        assertThat(denyAll.authorize(new CustomPrincipal("User", "admin"), HOST, WRITE, TOPIC, "orders"))
                .as("a principal subclass is a super user by its type and name").isEqualTo(ALLOWED);
        assertThat(denyAll.authorize(ALICE, HOST, WRITE, TOPIC, "orders")).isEqualTo(DENIED);

        AclAuthorizer noAcls = authorizer(false);
        assertThat(noAcls.authorize(ADMIN, HOST, DELETE, GROUP, "g")).isEqualTo(ALLOWED);
        assertThat(noAcls.authorize(ALICE, HOST, DELETE, GROUP, "g")).isEqualTo(DENIED);
    }

    @Test
    void superUsersAreMatchedByTheirExactTypeAndNameAfterTrimming() {
        AclAuthorizer authorizer = new AclAuthorizer(List.of(), Set.of(" User:admin ", "", "Group:ops"), false);
        assertThat(authorizer.superUsers()).containsExactlyInAnyOrder("User:admin", "Group:ops");
        assertThat(authorizer.authorize(ADMIN, HOST, READ, TOPIC, "t")).isEqualTo(ALLOWED);
        assertThat(authorizer.authorize(new KafkaPrincipal("Group", "ops"), HOST, READ, TOPIC, "t"))
                .isEqualTo(ALLOWED);
        assertThat(authorizer.authorize(new KafkaPrincipal("User", "Admin"), HOST, READ, TOPIC, "t"))
                .isEqualTo(DENIED);
        assertThat(authorizer.authorize(new KafkaPrincipal("Group", "admin"), HOST, READ, TOPIC, "t"))
                .isEqualTo(DENIED);
        assertThat(authorizer.authorize(new KafkaPrincipal("User", "ops"), HOST, READ, TOPIC, "t"))
                .isEqualTo(DENIED);
    }

    // ---- authorizeByResourceType ----------------------------------------------------------------------------------

    static Stream<Case> byResourceTypeCases() {
        return Stream.of(
                when("no ACLs: denied").expect(WRITE, TOPIC, DENIED),
                when("no ACLs with allow.everyone.if.no.acl.found: allowed").allowEveryone()
                        .expect(WRITE, TOPIC, ALLOWED),
                when("under the setting, an ACL for someone else on some topic still allows (Kafka probes the name"
                        + " 'hardcode')", allow(TOPIC, "orders", LITERAL, "User:bob", WRITE)).allowEveryone()
                        .expect(WRITE, TOPIC, ALLOWED),
                when("under the setting, an ACL for someone else covering 'hardcode' denies",
                        allow(TOPIC, "*", LITERAL, "User:bob", WRITE)).allowEveryone()
                        .expect(WRITE, TOPIC, DENIED),
                when("a LITERAL ALLOW on one topic allows", allowAlice("orders", LITERAL, WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("a PREFIXED ALLOW allows", allowAlice("ord", PREFIXED, WRITE)).expect(WRITE, TOPIC, ALLOWED),
                when("a wildcard ALLOW allows", allowAlice("*", LITERAL, WRITE)).expect(WRITE, TOPIC, ALLOWED),
                when("a LITERAL DENY of the same name cancels the only LITERAL ALLOW",
                        allowAlice("orders", LITERAL, WRITE), denyAlice("orders", LITERAL, WRITE))
                        .expect(WRITE, TOPIC, DENIED),
                when("a PREFIXED DENY covering the only LITERAL ALLOW denies",
                        allowAlice("orders", LITERAL, WRITE), denyAlice("ord", PREFIXED, WRITE))
                        .expect(WRITE, TOPIC, DENIED),
                when("a PREFIXED DENY equal to the only LITERAL ALLOW's name denies",
                        allowAlice("orders", LITERAL, WRITE), denyAlice("orders", PREFIXED, WRITE))
                        .expect(WRITE, TOPIC, DENIED),
                when("a PREFIXED DENY covering the only PREFIXED ALLOW denies",
                        allowAlice("orders-", PREFIXED, WRITE), denyAlice("ord", PREFIXED, WRITE))
                        .expect(WRITE, TOPIC, DENIED),
                when("a PREFIXED DENY narrower than the PREFIXED ALLOW leaves other names allowed",
                        allowAlice("ord", PREFIXED, WRITE), denyAlice("orders", PREFIXED, WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("a PREFIXED DENY that does not cover the LITERAL ALLOW leaves it allowed",
                        allowAlice("orders", LITERAL, WRITE), denyAlice("pay", PREFIXED, WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("a LITERAL DENY never cancels a PREFIXED ALLOW",
                        allowAlice("ord", PREFIXED, WRITE), denyAlice("ord", LITERAL, WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("one LITERAL ALLOW left undenied among several allows",
                        allowAlice("orders", LITERAL, WRITE), allowAlice("payments", LITERAL, WRITE),
                        denyAlice("orders", LITERAL, WRITE)).expect(WRITE, TOPIC, ALLOWED),
                when("a wildcard DENY denies whatever is allowed",
                        allowAlice("orders", LITERAL, WRITE), allowAlice("ord", PREFIXED, WRITE),
                        denyAlice("*", LITERAL, WRITE)).expect(WRITE, TOPIC, DENIED),
                when("a wildcard DENY for User:* denies",
                        allowAlice("orders", LITERAL, WRITE), deny(TOPIC, "*", LITERAL, "User:*", WRITE))
                        .expect(WRITE, TOPIC, DENIED),
                when("a DENY of ALL counts as a DENY of the operation",
                        allowAlice("orders", LITERAL, WRITE), denyAlice("ord", PREFIXED, ALL))
                        .expect(WRITE, TOPIC, DENIED),
                when("a DENY of another operation does not count",
                        allowAlice("orders", LITERAL, WRITE), denyAlice("ord", PREFIXED, READ))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("a DENY for another principal does not count",
                        allowAlice("orders", LITERAL, WRITE), deny(TOPIC, "ord", PREFIXED, "User:bob", WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("a DENY on another resource type does not count",
                        allowAlice("orders", LITERAL, WRITE), deny(TRANSACTIONAL_ID, "ord", PREFIXED, "User:alice",
                                WRITE)).expect(WRITE, TOPIC, ALLOWED),
                when("an ALLOW on another resource type does not count",
                        allow(TRANSACTIONAL_ID, "app", PREFIXED, "User:alice", WRITE)).expect(WRITE, TOPIC, DENIED),
                when("an ALLOW for another principal does not count",
                        allow(TOPIC, "orders", LITERAL, "User:bob", WRITE)).expect(WRITE, TOPIC, DENIED),
                when("an ALLOW for User:* counts", allow(TOPIC, "orders", LITERAL, "User:*", WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("an ALLOW from another host does not count",
                        acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "User:alice", OTHER_HOST, WRITE))
                        .expect(WRITE, TOPIC, DENIED),
                when("an ALLOW of another operation does not count", allowAlice("orders", LITERAL, READ))
                        .expect(WRITE, TOPIC, DENIED),
                when("an ALLOW of ALL counts", allowAlice("orders", LITERAL, ALL)).expect(WRITE, TOPIC, ALLOWED),
                when("implied operations do not count on named resources: ALLOW READ on a topic, DESCRIBE denied",
                        allowAlice("orders", LITERAL, READ)).expect(DESCRIBE, TOPIC, DENIED),
                when("implied operations count through the probe: wildcard ALLOW READ, DESCRIBE allowed",
                        allowAlice("*", LITERAL, READ)).expect(DESCRIBE, TOPIC, ALLOWED),
                when("a wildcard ALLOW outweighs a PREFIXED DENY covering the probe name 'hardcode'",
                        allowAlice("*", LITERAL, WRITE), denyAlice("hard", PREFIXED, WRITE))
                        .expect(WRITE, TOPIC, ALLOWED),
                when("a super user is allowed despite a wildcard DENY", deny(TOPIC, "*", LITERAL, "User:*", ALL))
                        .by(ADMIN).expect(WRITE, TOPIC, ALLOWED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("byResourceTypeCases")
    void byResourceTypeAllowsWhenSomeAllowedNameIsNotCoveredByADeny(Case c) {
        assertThat(c.authorizer().authorizeByResourceType(c.principal, c.host, c.op, c.type))
                .as("%s: %s from %s %s on any %s with %s", c.behaviour, c.principal, c.host, c.op, c.type, c.acls)
                .isEqualTo(c.expected);
    }

    // ---- acls(filter) ---------------------------------------------------------------------------------------------

    private static final AclBinding ORDERS_ALICE_READ = allowAlice("orders", LITERAL, READ);
    private static final AclBinding ORDERS_BOB_DENY_WRITE = deny(TOPIC, "orders", LITERAL, "User:bob", WRITE);
    private static final AclBinding ORD_PREFIX_ALICE_WRITE = allowAlice("ord", PREFIXED, WRITE);
    private static final AclBinding ANY_TOPIC_EVERYONE_DESCRIBE = allow(TOPIC, "*", LITERAL, "User:*", DESCRIBE);
    private static final AclBinding ORDERS_PREFIX_ALICE_READ = allowAlice("orders", PREFIXED, READ);
    private static final AclBinding ORDERS_EU_ALICE_READ = allowAlice("orders-eu", LITERAL, READ);
    private static final AclBinding GROUP_ORDERS_ALICE_READ = allow(GROUP, "orders", LITERAL, "User:alice", READ);
    private static final AclBinding PAY_PREFIX_ALICE_READ = allowAlice("pay", PREFIXED, READ);
    private static final List<AclBinding> FILTER_ACLS = List.of(ORDERS_ALICE_READ, ORDERS_BOB_DENY_WRITE,
            ORD_PREFIX_ALICE_WRITE, ANY_TOPIC_EVERYONE_DESCRIBE, ORDERS_PREFIX_ALICE_READ, ORDERS_EU_ALICE_READ,
            GROUP_ORDERS_ALICE_READ, PAY_PREFIX_ALICE_READ);

    private static AclBindingFilter resources(ResourceType type, String name, PatternType pattern) {
        return new AclBindingFilter(new ResourcePatternFilter(type, name, pattern), AccessControlEntryFilter.ANY);
    }

    private static AclBindingFilter entries(String principal, AclOperation op, AclPermissionType permission) {
        return new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter(principal, null, op, permission));
    }

    /** A filter and the ACLs of FILTER_ACLS it selects. */
    private record FilterCase(String behaviour, AclBindingFilter filter, List<AclBinding> expected) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static Stream<FilterCase> filterCases() {
        return Stream.of(
                new FilterCase("ANY selects every ACL", AclBindingFilter.ANY, FILTER_ACLS),
                new FilterCase("a LITERAL filter selects the LITERAL ACLs of exactly that name",
                        resources(TOPIC, "orders", LITERAL), List.of(ORDERS_ALICE_READ, ORDERS_BOB_DENY_WRITE)),
                new FilterCase("a PREFIXED filter selects the PREFIXED ACLs of exactly that prefix",
                        resources(TOPIC, "ord", PREFIXED), List.of(ORD_PREFIX_ALICE_WRITE)),
                new FilterCase("a LITERAL * filter selects the wildcard ACLs only",
                        resources(TOPIC, "*", LITERAL), List.of(ANY_TOPIC_EVERYONE_DESCRIBE)),
                new FilterCase("an ANY-pattern filter selects ACLs of exactly that name, LITERAL or PREFIXED",
                        resources(TOPIC, "orders", PatternType.ANY),
                        List.of(ORDERS_ALICE_READ, ORDERS_BOB_DENY_WRITE, ORDERS_PREFIX_ALICE_READ)),
                new FilterCase("a MATCH filter selects every ACL that applies to the resource",
                        resources(TOPIC, "orders", PatternType.MATCH),
                        List.of(ORDERS_ALICE_READ, ORDERS_BOB_DENY_WRITE, ORD_PREFIX_ALICE_WRITE,
                                ANY_TOPIC_EVERYONE_DESCRIBE, ORDERS_PREFIX_ALICE_READ)),
                new FilterCase("an ANY-resource-type filter selects that name on every type",
                        resources(ResourceType.ANY, "orders", LITERAL),
                        List.of(ORDERS_ALICE_READ, ORDERS_BOB_DENY_WRITE, GROUP_ORDERS_ALICE_READ)),
                new FilterCase("a resource filter with no name selects every ACL of the type and pattern",
                        resources(TOPIC, null, PREFIXED),
                        List.of(ORD_PREFIX_ALICE_WRITE, ORDERS_PREFIX_ALICE_READ, PAY_PREFIX_ALICE_READ)),
                new FilterCase("an entry filter selects by principal", entries("User:bob", AclOperation.ANY,
                        AclPermissionType.ANY), List.of(ORDERS_BOB_DENY_WRITE)),
                new FilterCase("an entry filter for User:* selects only ACLs written for User:*",
                        entries("User:*", AclOperation.ANY, AclPermissionType.ANY),
                        List.of(ANY_TOPIC_EVERYONE_DESCRIBE)),
                new FilterCase("an entry filter selects by permission",
                        entries(null, AclOperation.ANY, AclPermissionType.DENY), List.of(ORDERS_BOB_DENY_WRITE)),
                new FilterCase("an entry filter selects by exact operation (no implication)",
                        entries(null, READ, AclPermissionType.ANY),
                        List.of(ORDERS_ALICE_READ, ORDERS_PREFIX_ALICE_READ, ORDERS_EU_ALICE_READ,
                                GROUP_ORDERS_ALICE_READ, PAY_PREFIX_ALICE_READ)),
                new FilterCase("a filter matching nothing selects nothing",
                        resources(TOPIC, "nothing-here", LITERAL), List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("filterCases")
    void aclsReturnsExactlyTheAclsTheFilterMatches(FilterCase c) {
        AclAuthorizer authorizer = new AclAuthorizer(FILTER_ACLS, Set.of(), false);
        assertThat(authorizer.acls(c.filter())).containsExactlyInAnyOrderElementsOf(c.expected());
    }

    @Test
    void aclsHoldsEachAclOnceInAnOrderIndependentOfTheInput() {
        List<AclBinding> shuffled = new ArrayList<>(FILTER_ACLS);
        shuffled.add(ORDERS_ALICE_READ);
        shuffled.add(allowAlice("orders", LITERAL, READ)); // equal, not the same instance
        Collections.shuffle(shuffled, new Random(7));
        AclAuthorizer fromShuffled = new AclAuthorizer(shuffled, Set.of(), false);
        AclAuthorizer fromOriginal = new AclAuthorizer(FILTER_ACLS, Set.of(), false);

        assertThat(fromShuffled.aclCount()).isEqualTo(FILTER_ACLS.size());
        assertThat(fromShuffled.acls(AclBindingFilter.ANY)).containsExactlyElementsOf(
                fromOriginal.acls(AclBindingFilter.ANY));
    }

    @Test
    void theAuthorizerIsASnapshotOfTheAclsItWasGiven() {
        List<AclBinding> acls = new ArrayList<>(List.of(allowAlice("orders", LITERAL, READ)));
        AclAuthorizer authorizer = new AclAuthorizer(acls, Set.of(), false);
        acls.add(denyAlice("orders", LITERAL, READ));
        acls.clear();

        assertThat(authorizer.authorize(ALICE, HOST, READ, TOPIC, "orders")).isEqualTo(ALLOWED);
        assertThat(authorizer.acls(AclBindingFilter.ANY)).containsExactly(allowAlice("orders", LITERAL, READ));
        // a result list is the caller's to keep: changing it changes nothing in the authorizer
        authorizer.acls(AclBindingFilter.ANY).clear();
        assertThat(authorizer.acls(AclBindingFilter.ANY)).hasSize(1);
    }

    // ---- arguments refused ----------------------------------------------------------------------------------------

    @Test
    void authorizeRefusesFilterAndUnknownOperationsAndResourceTypes() {
        AclAuthorizer authorizer = authorizer(true, allowAlice("*", LITERAL, ALL));
        for (AclOperation op : List.of(AclOperation.ANY, ALL, AclOperation.UNKNOWN)) {
            assertThatThrownBy(() -> authorizer.authorize(ALICE, HOST, op, TOPIC, "orders"))
                    .as("authorize %s", op).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> authorizer.authorizeByResourceType(ALICE, HOST, op, TOPIC))
                    .as("authorizeByResourceType %s", op).isInstanceOf(IllegalArgumentException.class);
        }
        for (ResourceType type : List.of(ResourceType.ANY, ResourceType.UNKNOWN)) {
            assertThatThrownBy(() -> authorizer.authorize(ALICE, HOST, READ, type, "orders"))
                    .as("authorize on %s", type).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> authorizer.authorizeByResourceType(ALICE, HOST, READ, type))
                    .as("authorizeByResourceType on %s", type).isInstanceOf(IllegalArgumentException.class);
        }
        // super users too: the arguments are checked first
        assertThatThrownBy(() -> authorizer.authorize(ADMIN, HOST, AclOperation.ANY, TOPIC, "orders"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    static Stream<AclBinding> aclsAClusterCannotHold() {
        return Stream.of(
                acl(AclPermissionType.ALLOW, ResourceType.UNKNOWN, "orders", LITERAL, "User:alice", "*", READ),
                acl(AclPermissionType.ALLOW, TOPIC, "orders", PatternType.UNKNOWN, "User:alice", "*", READ),
                acl(AclPermissionType.ALLOW, TOPIC, "", LITERAL, "User:alice", "*", READ),
                acl(AclPermissionType.ALLOW, TOPIC, "", PREFIXED, "User:alice", "*", READ),
                acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "User:alice", "*", AclOperation.UNKNOWN),
                acl(AclPermissionType.UNKNOWN, TOPIC, "orders", LITERAL, "User:alice", "*", READ),
                acl(AclPermissionType.ALLOW, TOPIC, "orders", LITERAL, "alice", "*", READ),
                acl(AclPermissionType.ALLOW, CLUSTER, "my-cluster", LITERAL, "User:alice", "*", ALTER),
                acl(AclPermissionType.ALLOW, CLUSTER, "kafka", PREFIXED, "User:alice", "*", ALTER));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("aclsAClusterCannotHold")
    void anAclAClusterCannotHoldIsRefused(AclBinding bad) {
        assertThatThrownBy(() -> new AclAuthorizer(List.of(allowAlice("orders", LITERAL, READ), bad), Set.of(), false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AclAuthorizer.validate(bad)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aSuperUserThatIsNotTypeColonNameIsRefused() {
        assertThatThrownBy(() -> new AclAuthorizer(List.of(), Set.of("admin"), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("admin");
    }

    @Test
    void everyOperationAndPermissionAClusterCanHoldIsAccepted() {
        List<AclBinding> acls = new ArrayList<>();
        for (AclOperation op : AclOperation.values()) {
            if (op == AclOperation.ANY || op == AclOperation.UNKNOWN) {
                continue;
            }
            for (AclPermissionType permission : List.of(AclPermissionType.ALLOW, AclPermissionType.DENY)) {
                for (PatternType pattern : List.of(LITERAL, PREFIXED)) {
                    acls.add(acl(permission, TOPIC, "orders", pattern, "User:alice", "*", op));
                }
            }
        }
        acls.add(allow(CLUSTER, "kafka-cluster", LITERAL, "User:alice", ALL));
        acls.forEach(AclAuthorizer::validate);
        assertThat(new AclAuthorizer(acls, Set.of(), false).aclCount()).isEqualTo(acls.size());
    }
}
