package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.tributary.proto.metadata.AccessControlEntryRecord;
import io.tributary.proto.metadata.AclFilter;
import io.tributary.proto.metadata.AclResult;
import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.DeletedAcls;
import io.tributary.proto.metadata.ImageSnapshot;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.RemoveUserScramCredentialRecord;
import io.tributary.proto.metadata.UserResult;
import io.tributary.proto.metadata.UserScramCredentialRecord;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * SCRAM credentials and ACLs: what the controller decides (Kafka's ScramControlManager and AclControlManager
 * semantics), and that the image replays and snapshots them.
 */
class SecurityDecisionsTest {

    private static final int TOPIC = 2;
    private static final int GROUP = 3;
    private static final int LITERAL = 3;
    private static final int PREFIXED = 4;
    private static final int READ = 3;
    private static final int WRITE = 4;
    private static final int ALLOW = 3;
    private static final int DENY = 2;

    private final AtomicLong nextId = new AtomicLong(1);
    private final Supplier<UUID> ids = () -> new UUID(0, nextId.getAndIncrement());

    private static MetadataImage replay(MetadataImage image, List<MetadataRecord> records) {
        for (MetadataRecord r : records) {
            image = image.apply(r, image.offset() + 1);
        }
        return image;
    }

    private static UserScramCredentialRecord credential(String user, int mechanism, int iterations) {
        return UserScramCredentialRecord.newBuilder().setName(user).setMechanism(mechanism)
                .setSalt(ByteString.copyFromUtf8("salt")).setStoredKey(ByteString.copyFromUtf8("stored"))
                .setServerKey(ByteString.copyFromUtf8("server")).setIterations(iterations).build();
    }

    private static RemoveUserScramCredentialRecord removal(String user, int mechanism) {
        return RemoveUserScramCredentialRecord.newBuilder().setName(user).setMechanism(mechanism).build();
    }

    private static AccessControlEntryRecord acl(int type, String name, int pattern, String principal, int operation,
            int permission) {
        return AccessControlEntryRecord.newBuilder().setResourceType(type).setResourceName(name)
                .setPatternType(pattern).setPrincipal(principal).setHost("*").setOperation(operation)
                .setPermissionType(permission).build();
    }

    @Test
    void scramUpsertionsReplaceAndDeletionsOfMissingCredentialsFailTheWholeUser() {
        ControllerResult<List<UserResult>> added = SecurityDecisions.alterScramCredentials(MetadataImage.EMPTY,
                List.of(credential("alice", 1, 4096), credential("alice", 2, 8192), credential("bob", 2, 4096)),
                List.of());
        MetadataImage image = replay(MetadataImage.EMPTY, added.records());
        assertThat(added.response()).extracting(UserResult::getError).containsOnly(ControllerErrorCode.NONE);
        assertThat(image.scramCredential("alice", 2).getIterations()).isEqualTo(8192);

        // bob deletes a SHA-256 credential he never had and upserts another: neither applies
        ControllerResult<List<UserResult>> mixed = SecurityDecisions.alterScramCredentials(image,
                List.of(credential("bob", 1, 4096), credential("alice", 2, 10000)),
                List.of(removal("bob", 1), removal("alice", 1)));
        assertThat(mixed.response()).extracting(UserResult::getUser, UserResult::getError).containsExactly(
                org.assertj.core.groups.Tuple.tuple("bob", ControllerErrorCode.RESOURCE_NOT_FOUND),
                org.assertj.core.groups.Tuple.tuple("alice", ControllerErrorCode.NONE));
        image = replay(image, mixed.records());
        assertThat(image.scramCredential("bob", 1)).isNull();
        assertThat(image.scramCredential("bob", 2)).isNotNull();
        assertThat(image.scramCredential("alice", 1)).isNull();
        assertThat(image.scramCredential("alice", 2).getIterations()).isEqualTo(10000);
    }

    @Test
    void aclsGetIdsAreNotDuplicatedAndDeleteByFilter() {
        AccessControlEntryRecord readT = acl(TOPIC, "t", LITERAL, "User:alice", READ, ALLOW);
        AccessControlEntryRecord writePrefix = acl(TOPIC, "orders-", PREFIXED, "User:alice", WRITE, ALLOW);
        AccessControlEntryRecord denyAll = acl(TOPIC, "*", LITERAL, "User:mallory", READ, DENY);
        AccessControlEntryRecord group = acl(GROUP, "g", LITERAL, "User:alice", READ, ALLOW);
        ControllerResult<List<AclResult>> created = SecurityDecisions.createAcls(MetadataImage.EMPTY,
                List.of(readT, writePrefix, denyAll, group, readT), ids);
        assertThat(created.records()).hasSize(4);
        assertThat(created.response()).hasSize(5).extracting(AclResult::getError)
                .containsOnly(ControllerErrorCode.NONE);
        MetadataImage image = replay(MetadataImage.EMPTY, created.records());
        assertThat(image.acls()).hasSize(4);
        assertThat(SecurityDecisions.createAcls(image, List.of(readT), ids).records())
                .as("an ACL that exists is not added again").isEmpty();

        // MATCH finds the ACLs that apply to topic orders-eu: the prefixed one and the wildcard one
        AclFilter match = AclFilter.newBuilder().setResourceType(TOPIC).setResourceName("orders-eu")
                .setPatternType(2).setOperation(1).setPermissionType(1).build();
        AclFilter alicesGroups = AclFilter.newBuilder().setResourceType(GROUP).setPatternType(1)
                .setPrincipal("User:alice").setOperation(1).setPermissionType(1).build();
        ControllerResult<List<DeletedAcls>> deleted = SecurityDecisions.deleteAcls(image, List.of(match,
                alicesGroups));
        assertThat(deleted.response().get(0).getAclsList()).extracting(AccessControlEntryRecord::getResourceName)
                .containsExactlyInAnyOrder("orders-", "*");
        assertThat(deleted.response().get(1).getAclsList()).extracting(AccessControlEntryRecord::getResourceName)
                .containsExactly("g");
        image = replay(image, deleted.records());
        assertThat(image.acls().values()).extracting(AccessControlEntryRecord::getResourceName)
                .containsExactly("t");
    }

    @Test
    void malformedAclsAndCredentialsNeverReachTheMetadata() {
        AccessControlEntryRecord anyOperation = acl(TOPIC, "t", LITERAL, "User:alice", 1, ALLOW);
        AccessControlEntryRecord matchPattern = acl(TOPIC, "t", 2, "User:alice", READ, ALLOW);
        AccessControlEntryRecord noPrincipalType = acl(TOPIC, "t", LITERAL, "alice", READ, ALLOW);
        AccessControlEntryRecord otherCluster = acl(4, "my-cluster", LITERAL, "User:alice", READ, ALLOW);
        ControllerResult<List<AclResult>> created = SecurityDecisions.createAcls(MetadataImage.EMPTY,
                List.of(anyOperation, matchPattern, noPrincipalType, otherCluster), ids);
        assertThat(created.records()).isEmpty();
        assertThat(created.response()).extracting(AclResult::getError)
                .containsOnly(ControllerErrorCode.INVALID_REQUEST);

        ControllerResult<List<UserResult>> scram = SecurityDecisions.alterScramCredentials(MetadataImage.EMPTY,
                List.of(credential("weak", 1, 100), credential("odd", 3, 4096), credential("ok", 2, 4096)),
                List.of());
        assertThat(scram.response()).extracting(UserResult::getUser, UserResult::getError).containsExactly(
                org.assertj.core.groups.Tuple.tuple("weak", ControllerErrorCode.INVALID_REQUEST),
                org.assertj.core.groups.Tuple.tuple("odd", ControllerErrorCode.INVALID_REQUEST),
                org.assertj.core.groups.Tuple.tuple("ok", ControllerErrorCode.NONE));
        assertThat(scram.records()).hasSize(1);
    }

    @Test
    void securityMetadataSurvivesASnapshot() throws Exception {
        MetadataImage image = replay(MetadataImage.EMPTY, SecurityDecisions.alterScramCredentials(
                MetadataImage.EMPTY, List.of(credential("alice", 2, 4096)), List.of()).records());
        image = replay(image, SecurityDecisions.createAcls(image, List.of(
                acl(TOPIC, "t", LITERAL, "User:alice", READ, ALLOW)), ids).records());
        MetadataImage restored = MetadataImage.fromSnapshot(ImageSnapshot.parseFrom(image.toSnapshot()
                .toByteArray()));
        assertThat(restored).isEqualTo(image);
        assertThat(restored.acls()).hasSize(1);
        assertThat(restored.scramCredential("alice", 2)).isEqualTo(image.scramCredential("alice", 2));
    }
}
