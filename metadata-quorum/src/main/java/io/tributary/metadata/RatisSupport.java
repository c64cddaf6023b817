package io.tributary.metadata;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.util.TimeDuration;

/** The metadata quorum's Ratis group and the properties shared by its servers and clients. */
final class RatisSupport {

    /** One fixed group: a cluster has exactly one metadata quorum. */
    static final RaftGroupId GROUP_ID = RaftGroupId.valueOf(
            UUID.nameUUIDFromBytes("tributary-metadata".getBytes(StandardCharsets.UTF_8)));

    private RatisSupport() {}

    static RaftPeerId peerId(int nodeId) {
        return RaftPeerId.valueOf("node-" + nodeId);
    }

    /** The node id of a peer id made by {@link #peerId}; -1 for any other. */
    static int nodeId(RaftPeerId peerId) {
        String id = peerId.toString();
        try {
            return id.startsWith("node-") ? Integer.parseInt(id.substring(5)) : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static RaftGroup group(Map<Integer, InetSocketAddress> voters) {
        List<RaftPeer> peers = voters.entrySet().stream()
                .map(e -> RaftPeer.newBuilder()
                        .setId(peerId(e.getKey()))
                        .setAddress(e.getValue().getHostString() + ":" + e.getValue().getPort())
                        .build())
                .toList();
        return RaftGroup.valueOf(GROUP_ID, peers);
    }

    static TimeDuration ms(long millis) {
        return TimeDuration.valueOf(millis, TimeUnit.MILLISECONDS);
    }

    /** A client of the metadata group; sent first to {@code leader} when not null. */
    static org.apache.ratis.client.RaftClient client(QuorumConfig config, RaftPeerId leader,
            org.apache.ratis.retry.RetryPolicy retryPolicy) {
        var builder = org.apache.ratis.client.RaftClient.newBuilder()
                .setProperties(clientProperties(config))
                .setRaftGroup(group(config.voters()))
                .setRetryPolicy(retryPolicy);
        if (config.tls() != null) {
            builder.setParameters(config.tls().ratisParameters());
        }
        if (leader != null) {
            builder.setLeaderId(leader);
        }
        return builder.build();
    }

    static RaftProperties clientProperties(QuorumConfig config) {
        RaftProperties properties = new RaftProperties();
        org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(properties, ms(config.requestTimeoutMs()));
        return properties;
    }
}
