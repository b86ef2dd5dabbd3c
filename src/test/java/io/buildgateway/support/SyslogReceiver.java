package io.buildgateway.support;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A real syslog receiver for the tests: TCP with RFC 6587 octet-counting framing, optionally TLS (RFC 5425) with a
 * certificate for {@code localhost} and {@code 127.0.0.1} that it generates itself. It parses every frame as an
 * RFC 5424 message and keeps it. {@link #stop()} closes the listening socket and every connection (a receiver that
 * went down); {@link #start()} listens again on the same port.
 */
public final class SyslogReceiver {

    /** An RFC 5424 message whose structured data is the NILVALUE, as the gateway sends them. */
    public record Message(int pri, int version, String timestamp, String hostname, String appName, String procId,
            String msgId, String structuredData, String msg) {
    }

    private final SSLContext tls;
    private final Path trustPem;
    private final List<Message> received = new CopyOnWriteArrayList<>();
    private final List<String> malformed = new CopyOnWriteArrayList<>();
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private volatile ServerSocket server;
    private volatile int port;

    private SyslogReceiver(SSLContext tls, Path trustPem) {
        this.tls = tls;
        this.trustPem = trustPem;
    }

    public static SyslogReceiver tcp() {
        SyslogReceiver r = new SyslogReceiver(null, null);
        r.start();
        return r;
    }

    /** TLS with a fresh self-signed certificate; its PEM is written to {@code dir/syslog-ca.pem}. */
    public static SyslogReceiver tls(Path dir) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = g.generateKeyPair();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=localhost");
            JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now
                    .toEpochMilli()), Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(1, ChronoUnit.DAYS)),
                    name, pair.getPublic());
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                new GeneralName(GeneralName.dNSName, "localhost"),
                new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            X509Certificate cert = new JcaX509CertificateConverter().getCertificate(builder.build(
                    new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            char[] password = "changeit".toCharArray();
            store.setKeyEntry("syslog", pair.getPrivate(), password, new java.security.cert.Certificate[] {cert});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf.getKeyManagers(), null, null);
            Files.createDirectories(dir);
            Path pem = dir.resolve("syslog-ca.pem");
            Files.writeString(pem, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
                    .encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
            SyslogReceiver r = new SyslogReceiver(context, pem);
            r.start();
            return r;
        } catch (GeneralSecurityException | IOException | org.bouncycastle.operator.OperatorCreationException e) {
            throw new IllegalStateException("cannot make the test syslog receiver's certificate", e);
        }
    }

    public int port() {
        return port;
    }

    /** The PEM of the certificate a TLS receiver presents (what the gateway must trust). */
    public Path trustPem() {
        return trustPem;
    }

    public List<Message> received() {
        return List.copyOf(received);
    }

    /** Frames that were not well-formed RFC 5424 with octet counting. */
    public List<String> malformed() {
        return List.copyOf(malformed);
    }

    public synchronized void start() {
        if (server != null) {
            return;
        }
        try {
            ServerSocket s = tls != null ? tls.getServerSocketFactory().createServerSocket() : new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
            if (s instanceof SSLServerSocket ssl) {
                ssl.setNeedClientAuth(false);
            }
            port = s.getLocalPort();
            server = s;
            Thread t = new Thread(() -> accept(s), "syslog-receiver-" + port);
            t.setDaemon(true);
            t.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public synchronized void stop() {
        ServerSocket s = server;
        server = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        for (Socket c : connections) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        connections.clear();
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                synchronized (this) {
                    // stop() may have run between accept() returning and here: a connection it could not see must
                    // not outlive it (CI once saw an event sent after stop() arrive on such a connection)
                    if (server != s) {
                        c.close();
                        return;
                    }
                    connections.add(c);
                }
                Thread t = new Thread(() -> read(c), "syslog-connection");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void read(Socket c) {
        try (c; InputStream in = new BufferedInputStream(c.getInputStream())) {
            while (true) {
                int length = 0;
                int b;
                int digits = 0;
                while ((b = in.read()) >= '0' && b <= '9') {
                    length = length * 10 + (b - '0');
                    digits++;
                }
                if (b < 0) {
                    return;
                }
                if (b != ' ' || digits == 0) {
                    malformed.add("bad frame header byte " + b);
                    return;
                }
                byte[] frame = in.readNBytes(length);
                if (frame.length < length) {
                    malformed.add("frame cut short");
                    return;
                }
                if (!connections.contains(c)) {
                    return; // stop() closed this connection: a receiver that is down hears nothing more
                }
                parse(new String(frame, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // the connection ended
        } finally {
            connections.remove(c);
        }
    }

    private void parse(String frame) {
        String[] p = frame.split(" ", 8);
        int close = p[0].indexOf('>');
        if (p.length < 8 || !p[0].startsWith("<") || close < 2 || !p[0].substring(close + 1).equals("1")) {
            malformed.add(frame);
            return;
        }
        received.add(new Message(Integer.parseInt(p[0].substring(1, close)), 1, p[1], p[2], p[3], p[4], p[5], p[6],
                p[7]));
    }
}
