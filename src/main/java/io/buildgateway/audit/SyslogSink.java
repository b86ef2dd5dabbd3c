package io.buildgateway.audit;

import io.buildgateway.shared.DaemonThreads;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * RFC 5424 messages to a syslog receiver over TCP with octet-counting framing (RFC 6587) or over TLS (RFC 5425,
 * the receiver's certificate checked against the configured trust and its host name). One connection, kept open.
 *
 * <p>TCP syslog has no acknowledgement, so "delivered" means: the connection was alive before the batch (a receiver
 * that closed it is noticed and the batch goes over a new connection), the batch was written and flushed, and the
 * receiver did not close or reset the connection within {@code confirm-wait} afterwards. A batch that fails any of
 * these is sent again (at least once); receivers deduplicate by the JSON's {@code seq}.
 */
final class SyslogSink implements ExportSink {

    /** A write that blocks this long (a receiver that stopped reading) closes the connection. */
    static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    private final AuditProperties.Syslog config;
    private final SSLSocketFactory tls;
    private final String hostname;
    private final String procId = Long.toString(ProcessHandle.current().pid());
    private final ScheduledExecutorService watchdog;
    private Socket socket;
    private OutputStream out;
    private InputStream in;

    SyslogSink(AuditProperties.Syslog config) {
        this.config = config;
        this.tls = config.tls() ? socketFactory(config.trustCertificates()) : null;
        this.hostname = config.hostname() != null && !config.hostname().isBlank() ? config.hostname() : localName();
        this.watchdog = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("audit-syslog-watchdog"));
    }

    @Override
    public String cursor() {
        return config.cursor();
    }

    @Override
    public String describe() {
        return "syslog " + (config.tls() ? "tls" : "tcp") + "://" + config.host() + ":" + config.port();
    }

    @Override
    public synchronized void send(List<AuditEvent> events) throws IOException {
        ensureConnected();
        Socket s = socket;
        ScheduledFuture<?> guard = watchdog.schedule(() -> closeQuietly(s), SEND_TIMEOUT.toMillis(),
                TimeUnit.MILLISECONDS);
        try {
            for (AuditEvent e : events) {
                out.write(SyslogFormat.frame(SyslogFormat.message(config.facility(),
                        SyslogFormat.severity(e.outcome()), e.at(), hostname, config.appName(), procId, "audit",
                        SyslogFormat.jsonLine(e))));
            }
            out.flush();
            confirm();
        } catch (IOException e) {
            disconnect();
            throw e;
        } finally {
            guard.cancel(false);
        }
    }

    @Override
    public synchronized void checkpoint(Checkpoint cp) throws IOException {
        ensureConnected();
        try {
            out.write(SyslogFormat.frame(SyslogFormat.message(config.facility(), 5, cp.at(), hostname,
                    config.appName(), procId, "checkpoint", cp.line())));
            out.flush();
        } catch (IOException e) {
            disconnect();
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        disconnect();
        watchdog.shutdownNow();
    }

    private void ensureConnected() throws IOException {
        if (socket != null && !alive()) {
            disconnect();
        }
        if (socket == null) {
            connect();
        }
    }

    private void connect() throws IOException {
        int timeout = (int) config.connectTimeout().toMillis();
        Socket s = new Socket();
        try {
            s.connect(new InetSocketAddress(config.host(), config.port()), timeout);
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            if (tls != null) {
                SSLSocket ssl = (SSLSocket) tls.createSocket(s, config.host(), config.port(), true);
                SSLParameters parameters = ssl.getSSLParameters();
                parameters.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(parameters);
                ssl.setSoTimeout(timeout);
                ssl.startHandshake();
                s = ssl;
            }
        } catch (IOException e) {
            closeQuietly(s);
            throw e;
        }
        socket = s;
        out = new BufferedOutputStream(s.getOutputStream(), 64 * 1024);
        in = s.getInputStream();
    }

    /** A receiver never sends; end of stream or a reset means it closed the connection. */
    private boolean alive() {
        try {
            socket.setSoTimeout(1);
            return in.read() >= 0;
        } catch (SocketTimeoutException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void confirm() throws IOException {
        long wait = config.confirmWait().toMillis();
        if (wait <= 0) {
            return;
        }
        try {
            socket.setSoTimeout((int) wait);
            if (in.read() < 0) {
                throw new IOException("the receiver closed the connection");
            }
        } catch (SocketTimeoutException e) {
            // still open: delivered
        }
    }

    private void disconnect() {
        if (socket != null) {
            closeQuietly(socket);
        }
        socket = null;
        out = null;
        in = null;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    private static String localName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return SyslogFormat.NILVALUE;
        }
    }

    private static SSLSocketFactory socketFactory(Path trust) {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            if (trust == null || trust.toString().isBlank()) {
                tmf.init((KeyStore) null);
            } else {
                KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
                store.load(null, null);
                int i = 0;
                try (InputStream pem = Files.newInputStream(trust)) {
                    for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(pem)) {
                        store.setCertificateEntry("trusted-" + i++, c);
                    }
                }
                if (i == 0) {
                    throw new IllegalStateException("gateway.audit.export.syslog.trust-certificates (" + trust
                            + ") holds no certificate");
                }
                tmf.init(store);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, tmf.getTrustManagers(), null);
            return context.getSocketFactory();
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("gateway.audit.export.syslog.trust-certificates (" + trust
                    + ") cannot be read: " + e.getMessage(), e);
        }
    }
}
