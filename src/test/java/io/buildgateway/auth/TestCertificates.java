package io.buildgateway.auth;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Keys and certificates made by the test, with BouncyCastle (on the classpath through docker-java): a CA, a server
 * certificate for localhost signed by it, and client certificates signed by it or by a CA the gateway does not
 * trust. Nothing is committed; everything lives in a folder of the test run. Public for the build host image's
 * mutual TLS (images.BuildHostImageIT).
 */
public final class TestCertificates {

    /** A key and its certificate chain. */
    public record Identity(KeyPair keys, X509Certificate certificate, X509Certificate issuer) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private TestCertificates() {
    }

    public static Identity ca(String subject) {
        KeyPair keys = keyPair();
        X509Certificate cert = sign(subject, keys, subject, keys, true, null);
        return new Identity(keys, cert, cert);
    }

    public static Identity server(Identity ca) {
        KeyPair keys = keyPair();
        GeneralNames names = new GeneralNames(new GeneralName[] {new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")});
        return new Identity(keys, sign("CN=localhost,O=Build Gateway Test", keys,
                ca.certificate().getSubjectX500Principal().getName(), ca.keys(), false, names), ca.certificate());
    }

    public static Identity client(Identity ca, String subject) {
        KeyPair keys = keyPair();
        return new Identity(keys, sign(subject, keys, ca.certificate().getSubjectX500Principal().getName(), ca.keys(),
                false, null), ca.certificate());
    }

    private static KeyPair keyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(256);
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(String subject, KeyPair subjectKeys, String issuer, KeyPair issuerKeys,
            boolean ca, GeneralNames altNames) {
        try {
            Instant now = Instant.now();
            var builder = new JcaX509v3CertificateBuilder(new X500Principal(issuer),
                    new BigInteger(64, RANDOM).abs().add(BigInteger.ONE), Date.from(now.minus(Duration.ofMinutes(5))),
                    Date.from(now.plus(Duration.ofDays(2))), new X500Principal(subject), subjectKeys.getPublic());
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
            if (ca) {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            } else {
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
                builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            }
            if (altNames != null) {
                builder.addExtension(Extension.subjectAlternativeName, false, altNames);
            }
            var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate());
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
        } catch (Exception e) {
            throw new IllegalStateException("cannot make a test certificate", e);
        }
    }

    public static String pem(Object object) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(object);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** Presents its one certificate whatever CAs the server asks for. */
    private static final class Insistent extends X509ExtendedKeyManager {
        private final X509ExtendedKeyManager delegate;

        Insistent(X509ExtendedKeyManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {"client"};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return "client";
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers,
                SSLEngine engine) {
            return "client";
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return delegate.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return delegate.getPrivateKey(alias);
        }
    }

    /** Writes the certificate and the private key as PEM files ({@code name.crt}, {@code name.key}) and returns them. */
    public static Path[] write(Identity identity, Path dir, String name) {
        return write(identity, dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
    }

    /** Writes the certificate and the private key (PKCS#8) to these two files and returns {certificate, key}. */
    public static Path[] write(Identity identity, Path cert, Path key) {
        try {
            Files.createDirectories(cert.toAbsolutePath().getParent());
            Files.createDirectories(key.toAbsolutePath().getParent());
            Files.writeString(cert, pem(identity.certificate()));
            // PKCS#8, the one private-key encoding every PEM reader takes.
            Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64,
                    "\n".getBytes()).encodeToString(identity.keys().getPrivate().getEncoded())
                    + "\n-----END PRIVATE KEY-----\n");
            return new Path[] {cert, key};
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A client TLS context that trusts {@code trusted} and presents {@code client} (or no certificate when null). */
    static SSLContext clientContext(Identity trusted, Identity client) {
        return clientContext(trusted, client, false);
    }

    /**
     * As above; with {@code always}, the certificate is sent even when the server names other CAs as acceptable (a
     * well-behaved client would then send none), to see that the server refuses it.
     */
    public static SSLContext clientContext(Identity trusted, Identity client, boolean always) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", trusted.certificate());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (client != null) {
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("client", client.keys().getPrivate(), new char[0],
                        new Certificate[] {client.certificate(), client.issuer()});
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, new char[0]);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            KeyManager[] managers = kmf == null ? null : kmf.getKeyManagers();
            if (managers != null && always) {
                managers = new KeyManager[] {new Insistent((X509ExtendedKeyManager) managers[0])};
            }
            context.init(managers, tmf.getTrustManagers(), RANDOM);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
