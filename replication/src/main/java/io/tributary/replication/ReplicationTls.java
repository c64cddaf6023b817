package io.tributary.replication;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.tributary.metadata.InterNodeTls;
import javax.net.ssl.SSLException;

/**
 * TLS contexts of the replication port when {@code inter.node.security.protocol=SSL}: the leader's server requires
 * a client certificate of the cluster CA (a follower is a node), and a follower checks the leader's certificate
 * (chain and host name) before sending its fetches.
 */
public final class ReplicationTls {

    private ReplicationTls() {}

    public static SslContext server(InterNodeTls tls) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forServer(tls.keyManagers()))
                    .trustManager(tls.trustManagers())
                    .clientAuth(ClientAuth.REQUIRE)
                    .build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot build the replication port's TLS context: " + e.getMessage(),
                    e);
        }
    }

    public static SslContext client(InterNodeTls tls) {
        try {
            return GrpcSslContexts.forClient()
                    .keyManager(tls.keyManagers())
                    .trustManager(tls.trustManagers())
                    .build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot build the replication client's TLS context: "
                    + e.getMessage(), e);
        }
    }
}
