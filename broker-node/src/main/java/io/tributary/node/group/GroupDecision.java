package io.tributary.node.group;

import java.util.List;

/**
 * What a deleting command (DeleteGroups, OffsetDelete) decided: the records to append and the response to send once
 * they are durable (after {@link GroupCoordinator#replay} of each). State changes only on replay (STYLE rule 6).
 */
public record GroupDecision<R>(List<GroupRecord> records, R response) {

    public GroupDecision {
        records = List.copyOf(records);
    }
}
