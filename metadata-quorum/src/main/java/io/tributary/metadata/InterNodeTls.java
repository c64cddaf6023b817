package io.tributary.metadata;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * Mutual TLS between nodes ({@code inter.node.security.protocol=SSL}): every node presents its certificate from
 * {@code inter.node.ssl.keystore.*} and accepts only peers whose certificate chains to {@code
 * inter.node.ssl.truststore.*} (the cluster CA), on the Ratis port (voters and controller clients) and on the
 * replication port (follower fetches). A process without such a certificate cannot complete a handshake, so it can
 * neither write nor query the metadata quorum, reach the controller, nor fetch from a leader.
 *
 * <p>Keystores are read once at start; a missing file, a wrong password or a keystore without a key fails the start
 * with a message naming the setting.
 */
public final class InterNodeTls {

    private final KeyManagerFactory keyManagers;
    private final TrustManagerFactory trustManagers;

    private InterNodeTls(KeyManagerFactory keyManagers, TrustManagerFactory trustManagers) {
        this.keyManagers = keyManagers;
        this.trustManagers = trustManagers;
    }

    /**
     * @param keystoreType and {@code truststoreType}: PKCS12 or JKS
     * @param keyPassword the private key's password; the keystore password when null
     */
    public static InterNodeTls load(Path keystore, String keystoreType, char[] keystorePassword,
            char[] keyPassword, Path truststore, String truststoreType, char[] truststorePassword) {
        Objects.requireNonNull(keystore, "inter.node.ssl.keystore.location");
        Objects.requireNonNull(truststore, "inter.node.ssl.truststore.location");
        KeyStore keys = read(keystore, keystoreType, keystorePassword, "inter.node.ssl.keystore");
        KeyStore trusted = read(truststore, truststoreType, truststorePassword, "inter.node.ssl.truststore");
        try {
            if (!hasKey(keys)) {
                throw new IllegalArgumentException("inter.node.ssl.keystore.location " + keystore
                        + " holds no private key: a node needs its own key and certificate");
            }
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, keyPassword != null ? keyPassword : keystorePassword);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            return new InterNodeTls(kmf, tmf);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("inter.node.ssl: cannot use the key in " + keystore + " ("
                    + e.getMessage() + "); check inter.node.ssl.key.password", e);
        }
    }

    private static boolean hasKey(KeyStore store) throws GeneralSecurityException {
        for (var aliases = store.aliases(); aliases.hasMoreElements(); ) {
            if (store.isKeyEntry(aliases.nextElement())) {
                return true;
            }
        }
        return false;
    }

    private static KeyStore read(Path file, String type, char[] password, String setting) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(setting + ".location " + file + " is not a readable file");
        }
        try (InputStream in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance(type == null || type.isBlank() ? "PKCS12" : type);
            store.load(in, password);
            return store;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read " + setting + ".location " + file + " as "
                    + (type == null || type.isBlank() ? "PKCS12" : type) + ": " + e.getMessage()
                    + " (check " + setting + ".password and " + setting + ".type)", e);
        }
    }

    public KeyManagerFactory keyManagers() {
        return keyManagers;
    }

    public TrustManagerFactory trustManagers() {
        return trustManagers;
    }

    /** Ratis parameters making its servers and clients use mutual TLS with this node's key. */
    Parameters ratisParameters() {
        Parameters parameters = new Parameters();
        GrpcConfigKeys.TLS.setConf(parameters, new GrpcTlsConfig(keyManagers.getKeyManagers()[0],
                trustManagers.getTrustManagers()[0], true));
        return parameters;
    }
}
