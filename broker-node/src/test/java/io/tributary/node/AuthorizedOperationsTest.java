package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authorized operations in describes, computed from the ACL authorizer as Kafka computes them (each operation Kafka
 * lists for the resource type that the principal may do, implied ones included): topics in DescribeTopicPartitions
 * (the 4.x admin client's describeTopics) and Metadata, the cluster in DescribeCluster, groups in DescribeGroups.
 * The node runs the authorizer with {@code allow.everyone.if.no.acl.found}, so a resource that no ACL names allows
 * everything and one ACL narrows it.
 */
class AuthorizedOperationsTest {

    private static final String PRINCIPAL = "User:ANONYMOUS";

    private NodeWithAdmin started;
    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        started = NodeWithAdmin.start(dataDir, Map.of(
                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found", "true", "offsets.topic.num.partitions", "1"),
                new NewTopic("narrowed", 1, (short) 1), new NewTopic("open", 1, (short) 1));
        node = started.node;
        admin = started.admin;
        // Given: READ alone granted on topic "narrowed" and group "g"
        admin.createAcls(List.of(
                new AclBinding(new ResourcePattern(ResourceType.TOPIC, "narrowed", PatternType.LITERAL),
                        new AccessControlEntry(PRINCIPAL, "*", AclOperation.READ, AclPermissionType.ALLOW)),
                new AclBinding(new ResourcePattern(ResourceType.GROUP, "g", PatternType.LITERAL),
                        new AccessControlEntry(PRINCIPAL, "*", AclOperation.READ, AclPermissionType.ALLOW))))
                .all().get(30, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        if (started != null) {
            started.close();
        }
    }

    @Test
    void describesCarryTheOperationsTheAclsAllow() throws Exception {
        // When / Then: READ and the DESCRIBE it implies on "narrowed"; every topic operation on "open"
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(topicOperations("narrowed")).containsExactlyInAnyOrder(AclOperation.READ,
                        AclOperation.DESCRIBE));
        assertThat(topicOperations("open")).containsExactlyInAnyOrder(AclOperation.READ, AclOperation.WRITE,
                AclOperation.CREATE, AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.ALTER,
                AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS);

        // And: Metadata's topic field says the same
        try (WireClient client = new WireClient(node.port())) {
            MetadataRequestData request = new MetadataRequestData().setIncludeTopicAuthorizedOperations(true)
                    .setTopics(List.of(new MetadataRequestData.MetadataRequestTopic().setName("narrowed")));
            MetadataResponseData metadata = (MetadataResponseData) client.send(ApiKeys.METADATA, (short) 12,
                    request);
            assertThat(Utils.from32BitField(metadata.topics().find("narrowed").topicAuthorizedOperations()))
                    .containsExactlyInAnyOrder(AclOperation.READ.code(), AclOperation.DESCRIBE.code());
        }

        // And: the cluster, which no ACL names, allows all its operations
        Set<AclOperation> cluster = admin.describeCluster(new DescribeClusterOptions()
                .includeAuthorizedOperations(true)).authorizedOperations().get(30, TimeUnit.SECONDS);
        assertThat(cluster).containsExactlyInAnyOrder(AclOperation.CREATE, AclOperation.CLUSTER_ACTION,
                AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE,
                AclOperation.ALTER, AclOperation.DESCRIBE);

        // And: group "g" (given committed offsets, so that it exists) allows READ and DESCRIBE
        admin.alterConsumerGroupOffsets("g", Map.of(new org.apache.kafka.common.TopicPartition("open", 0),
                new org.apache.kafka.clients.consumer.OffsetAndMetadata(0))).all().get(30, TimeUnit.SECONDS);
        Set<AclOperation> group = admin.describeConsumerGroups(List.of("g"), new DescribeConsumerGroupsOptions()
                .includeAuthorizedOperations(true)).describedGroups().get("g").get(30, TimeUnit.SECONDS)
                .authorizedOperations();
        assertThat(group).containsExactlyInAnyOrder(AclOperation.READ, AclOperation.DESCRIBE);
    }

    private Set<AclOperation> topicOperations(String topic) throws Exception {
        Set<AclOperation> operations = admin.describeTopics(List.of(topic), new DescribeTopicsOptions()
                .includeAuthorizedOperations(true)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                .authorizedOperations();
        return operations == null ? Set.of() : EnumSet.copyOf(operations);
    }
}
