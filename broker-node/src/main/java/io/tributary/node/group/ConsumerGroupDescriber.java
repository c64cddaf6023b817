package io.tributary.node.group;

import io.tributary.node.group.ConsumerGroupRecord.TopicMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.SortedSet;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupDescribeResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * ConsumerGroupDescribe's answer for one group, as Kafka's ConsumerGroup.asDescribedGroup: its state, epochs,
 * assignor and members with their current and target assignments (topic ids with names). Pure; called by
 * {@link GroupCoordinator} on its thread.
 */
final class ConsumerGroupDescriber {

    /** Kafka's ConsumerGroupDescribe member type of a member using the consumer protocol (v1). */
    private static final byte CONSUMER_MEMBER_TYPE = 1;

    private ConsumerGroupDescriber() {
    }

    static ConsumerGroupDescribeResponseData.DescribedGroup describe(String groupId, ConsumerGroup group,
            boolean classicExists, List<String> assignors, ClusterTopics topics) {
        ConsumerGroupDescribeResponseData.DescribedGroup described =
                new ConsumerGroupDescribeResponseData.DescribedGroup().setGroupId(groupId);
        if (group == null) {
            return described.setErrorCode(Errors.GROUP_ID_NOT_FOUND.code()).setGroupState("Dead")
                    .setErrorMessage(classicExists ? "Group " + groupId + " is not a consumer group."
                            : "Group " + groupId + " not found.");
        }
        described.setGroupState(group.state()).setGroupEpoch(group.groupEpoch)
                .setAssignmentEpoch(group.assignmentEpoch).setAssignorName(ConsumerGroupManager.preferredAssignor(group, assignors));
        for (ConsumerGroup.Member m : group.members.values()) {
            described.members().add(new ConsumerGroupDescribeResponseData.Member().setMemberId(m.memberId)
                    .setInstanceId(m.instanceId()).setRackId(m.subscription.rackId()).setMemberEpoch(m.memberEpoch())
                    .setClientId(m.subscription.clientId()).setClientHost(m.subscription.clientHost())
                    .setSubscribedTopicNames(new ArrayList<>(m.subscription.subscribedTopicNames()))
                    .setSubscribedTopicRegex(m.subscription.subscribedTopicRegex())
                    .setAssignment(assignment(m.current.assignedPartitions(), group, topics))
                    .setTargetAssignment(assignment(group.target(m.memberId), group, topics))
                    .setMemberType(CONSUMER_MEMBER_TYPE));
        }
        return described;
    }

    private static ConsumerGroupDescribeResponseData.Assignment assignment(
            SortedMap<Uuid, SortedSet<Integer>> partitions, ConsumerGroup group, ClusterTopics topics) {
        ConsumerGroupDescribeResponseData.Assignment a = new ConsumerGroupDescribeResponseData.Assignment();
        partitions.forEach((id, ps) -> {
            String name = null;
            TopicMetadata t = topics.byId(id);
            if (t != null) {
                name = t.topicName();
            } else {
                name = group.subscriptionMetadata.stream().filter(x -> x.topicId().equals(id))
                        .map(TopicMetadata::topicName).findFirst().orElse(null);
            }
            if (name != null) {
                a.topicPartitions().add(new ConsumerGroupDescribeResponseData.TopicPartitions().setTopicId(id)
                        .setTopicName(name).setPartitions(new ArrayList<>(ps)));
            }
        });
        return a;
    }
}
