package io.tributary.node.security;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.SecurityDecisions;
import java.util.List;
import java.util.Random;
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
import org.junit.jupiter.api.Test;

/**
 * The controller matches DeleteAcls filters on Kafka's codes (the metadata quorum does not know kafka-clients):
 * {@link SecurityDecisions#matches} must agree with kafka-clients' own {@code AclBindingFilter.matches} on every
 * binding and filter, including through the record and filter conversions of {@link Acls}.
 */
class AclFilterOracleTest {

    private static final List<String> NAMES = List.of("t", "te", "test", "*", "other", "kafka-cluster", "g");
    private static final List<String> PRINCIPALS = List.of("User:alice", "User:bob", "User:*");
    private static final List<String> HOSTS = List.of("*", "10.0.0.1");
    private static final List<ResourceType> TYPES = List.of(ResourceType.TOPIC, ResourceType.GROUP,
            ResourceType.CLUSTER, ResourceType.TRANSACTIONAL_ID);
    private static final List<AclOperation> OPERATIONS = List.of(AclOperation.ALL, AclOperation.READ,
            AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.ALTER);

    private static <T> T pick(Random random, List<T> values) {
        return values.get(random.nextInt(values.size()));
    }

    private static <T> T maybe(Random random, T value) {
        return random.nextInt(3) == 0 ? null : value;
    }

    @Test
    void controllerFilterMatchingAgreesWithKafkaClients() {
        long seed = Long.getLong("tributary.seed", 20261130L);
        Random random = new Random(seed);
        for (int i = 0; i < 20_000; i++) {
            AclBinding binding = new AclBinding(
                    new ResourcePattern(pick(random, TYPES), pick(random, NAMES),
                            random.nextBoolean() ? PatternType.LITERAL : PatternType.PREFIXED),
                    new AccessControlEntry(pick(random, PRINCIPALS), pick(random, HOSTS), pick(random, OPERATIONS),
                            random.nextBoolean() ? AclPermissionType.ALLOW : AclPermissionType.DENY));
            List<ResourceType> filterTypes = List.of(ResourceType.ANY, ResourceType.TOPIC, ResourceType.GROUP,
                    ResourceType.CLUSTER);
            List<PatternType> filterPatterns = List.of(PatternType.ANY, PatternType.MATCH, PatternType.LITERAL,
                    PatternType.PREFIXED);
            List<AclOperation> filterOperations = List.of(AclOperation.ANY, AclOperation.ALL, AclOperation.READ,
                    AclOperation.WRITE);
            List<AclPermissionType> filterPermissions = List.of(AclPermissionType.ANY, AclPermissionType.ALLOW,
                    AclPermissionType.DENY);
            AclBindingFilter filter = new AclBindingFilter(
                    new ResourcePatternFilter(pick(random, filterTypes), maybe(random, pick(random, NAMES)),
                            pick(random, filterPatterns)),
                    new AccessControlEntryFilter(maybe(random, pick(random, PRINCIPALS)),
                            maybe(random, pick(random, HOSTS)), pick(random, filterOperations),
                            pick(random, filterPermissions)));
            assertThat(SecurityDecisions.matches(Acls.toFilter(filter), Acls.toRecord(binding)))
                    .as("seed %d case %d: %s against %s", seed, i, filter, binding)
                    .isEqualTo(filter.matches(binding));
            assertThat(Acls.toBinding(Acls.toRecord(binding))).isEqualTo(binding);
        }
    }
}
