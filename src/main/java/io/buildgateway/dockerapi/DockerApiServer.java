package io.buildgateway.dockerapi;

import jakarta.servlet.http.HttpServletRequest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import org.apache.catalina.connector.Connector;
import org.apache.commons.logging.LogFactory;
import org.apache.coyote.AbstractProtocol;
import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.tomcat.SslConnectorCustomizer;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.stereotype.Component;

/**
 * The Docker Engine API's port: a second Tomcat connector of the gateway's own server, with a thread pool of its
 * own (a build's stream holds a thread until the build ends), TLS from a Spring SSL bundle when configured. Requests
 * that arrive on it are told apart by their local port ({@link #onOwnPort}). The API's port answers the subset too
 * ({@link #serves}); there a build's stream holds one of the API's threads, which is why there every build stream
 * counts as one of its caller's log follows (bounded per caller and in all: {@code gateway.builds.follow.*}).
 */
@Component
class DockerApiServer implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {

    private static final Logger log = LoggerFactory.getLogger(DockerApiServer.class);

    private final DockerApiProperties properties;
    private final SslBundles bundles;
    private volatile Connector connector;

    DockerApiServer(DockerApiProperties properties, SslBundles bundles) {
        this.properties = properties;
        this.bundles = bundles;
    }

    @Override
    public void customize(TomcatServletWebServerFactory factory) {
        if (!properties.enabled()) {
            return;
        }
        Connector c = new Connector(TomcatWebServerFactory.DEFAULT_PROTOCOL);
        c.setPort(properties.port());
        if (c.getProtocolHandler() instanceof AbstractProtocol<?> protocol) {
            protocol.setMaxThreads(properties.maxThreads());
            if (properties.address() != null && !properties.address().isBlank()) {
                try {
                    protocol.setAddress(InetAddress.getByName(properties.address()));
                } catch (UnknownHostException e) {
                    throw new IllegalArgumentException("gateway.docker-api.address: " + properties.address()
                            + " is not an address", e);
                }
            }
        }
        if (c.getProtocolHandler() instanceof AbstractHttp11Protocol<?> http11) {
            // A refused upload is not read to its end beyond this (as on the API's port).
            http11.setMaxSwallowSize(2 * 1024 * 1024);
        }
        // As on the API's port (shared.web.ContinueOnRead, which Spring Boot applies to its own connector only): an
        // Expect: 100-continue is answered when the body is first read, so a request refused before (401, 403) never
        // uploads its context (a review's find, 2026-12-07: here Tomcat answered 100 at once).
        c.setProperty("continueResponseTiming", "onRead");
        if (properties.sslBundle() != null && !properties.sslBundle().isBlank()) {
            new SslConnectorCustomizer(LogFactory.getLog(DockerApiServer.class), c, properties.clientAuth())
                    .customize(bundles.getBundle(properties.sslBundle()), Map.of());
        }
        factory.addAdditionalConnectors(c);
        this.connector = c;
        log.info("Docker Engine API on port {} ({}{})", properties.port(),
                properties.sslBundle() == null || properties.sslBundle().isBlank() ? "plain HTTP" : "TLS",
                properties.sslBundle() == null || properties.sslBundle().isBlank() ? ""
                        : ", client certificates: " + properties.clientAuth());
    }

    /** The port the connector listens on (the chosen one when configured as 0); -1 when the API is off. */
    int port() {
        Connector c = connector;
        return c == null ? -1 : c.getLocalPort();
    }

    /**
     * Whether this module answers a request: everything that arrives on the Docker Engine API's port (what it does
     * not serve is refused there), and on the API's own port the subset's paths that API.md lists as answered by
     * the gateway, {@code /_ping}, {@code /version}, {@code /info} and {@code /build}, each also under
     * {@code /v1.NN/}, whether or not the port of its own is open.
     */
    boolean serves(HttpServletRequest request) {
        return onOwnPort(request) || DockerApiFilter.servedOnTheApiPort(request.getRequestURI());
    }

    /** Whether a request arrived on the Docker Engine API's port of its own (errors in the daemon's shape). */
    boolean onOwnPort(HttpServletRequest request) {
        Connector c = connector;
        return c != null && request.getLocalPort() == c.getLocalPort();
    }
}
