package io.tributary.replication;

import java.util.List;

/**
 * An ISR change a leader asks the controller for, based on the partition state it saw: its leader epoch and the
 * partition epoch (so that the controller refuses it if anything changed since).
 */
public record IsrProposal(List<Integer> isr, int leaderEpoch, int partitionEpoch) {

    public IsrProposal {
        isr = List.copyOf(isr);
    }
}
