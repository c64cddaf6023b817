package io.tributary.metadata;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a node joins the metadata quorum: the voters with their Ratis addresses, where Ratis keeps its storage, and
 * the timeouts. Validated here, once.
 *
 * @param voters voter node id -> Ratis host:port ({@code controller.quorum.voters}); 1, 3 or 5 voters
 * @param storageDir Ratis log and snapshots (under the node's data dir, never a shared temp folder)
 * @param electionTimeoutMinMs Ratis' leader election timeout range; wide enough that a GC pause or a busy 2-core
 *     machine does not cause elections (Ratis' defaults, 150-300 ms, are tight), small enough that a dead
 *     controller is replaced within seconds
 * @param snapshotIntervalEntries take a snapshot (and purge the Ratis log behind it) every this many entries
 * @param logSegmentBytes Ratis log segment size; only closed segments are purged, and metadata entries are small,
 *     so segments are small too
 * @param tls mutual TLS for the Ratis port (servers and clients), or null for plaintext
 */
public record QuorumConfig(Map<Integer, InetSocketAddress> voters, Path storageDir, long electionTimeoutMinMs,
        long electionTimeoutMaxMs, long requestTimeoutMs, long snapshotIntervalEntries, long logSegmentBytes,
        InterNodeTls tls) {

    /** A quorum whose voters and clients talk in plaintext. */
    public QuorumConfig(Map<Integer, InetSocketAddress> voters, Path storageDir, long electionTimeoutMinMs,
            long electionTimeoutMaxMs, long requestTimeoutMs, long snapshotIntervalEntries, long logSegmentBytes) {
        this(voters, storageDir, electionTimeoutMinMs, electionTimeoutMaxMs, requestTimeoutMs,
                snapshotIntervalEntries, logSegmentBytes, null);
    }

    public QuorumConfig {
        voters = Map.copyOf(new TreeMap<>(voters));
        if (voters.size() != 1 && voters.size() != 3 && voters.size() != 5) {
            throw new IllegalArgumentException("controller.quorum.voters must name 1, 3 or 5 voters, not "
                    + voters.size());
        }
        if (electionTimeoutMinMs < 100 || electionTimeoutMaxMs <= electionTimeoutMinMs) {
            throw new IllegalArgumentException("election timeout range must be >= 100 ms and max > min");
        }
        if (requestTimeoutMs < 100) {
            throw new IllegalArgumentException("quorum request timeout must be >= 100 ms");
        }
        if (logSegmentBytes < 4096 || logSegmentBytes > 64L * 1024 * 1024) {
            throw new IllegalArgumentException("metadata.log.segment.bytes must be in 4096..67108864");
        }
        if (snapshotIntervalEntries < 1) {
            throw new IllegalArgumentException("metadata.snapshot.interval.records must be >= 1");
        }
    }

    public boolean isVoter(int nodeId) {
        return voters.containsKey(nodeId);
    }

    /** Parses {@code 1@host:port,2@host:port}. */
    public static Map<Integer, InetSocketAddress> parseVoters(String value) {
        Map<Integer, InetSocketAddress> voters = new TreeMap<>();
        for (String entry : value.split(",")) {
            String e = entry.trim();
            int at = e.indexOf('@');
            int colon = e.lastIndexOf(':');
            if (at <= 0 || colon < at + 2 || colon == e.length() - 1) {
                throw new IllegalArgumentException("controller.quorum.voters entry '" + e
                        + "' must look like <node id>@<host>:<port>");
            }
            try {
                int id = Integer.parseInt(e.substring(0, at));
                int port = Integer.parseInt(e.substring(colon + 1));
                if (voters.put(id, InetSocketAddress.createUnresolved(e.substring(at + 1, colon), port)) != null) {
                    throw new IllegalArgumentException("controller.quorum.voters names node " + id + " twice");
                }
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("controller.quorum.voters entry '" + e
                        + "' must look like <node id>@<host>:<port>");
            }
        }
        return voters;
    }
}
