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
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.tomcat.SslConnectorCustomizer;
import org.springframework.boot.tomcat.TomcatWebServerFactory;
import org.springframework.boot.tomcat.autoconfigure.TomcatServerProperties;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.autoconfigure.ServerProperties;
import org.springframework.util.unit.DataSize;
import org.springframework.stereotype.Component;

/**
 * The Docker Engine API's port: a second Tomcat connector of the gateway's own server, with a thread pool of its
 * own (a build's stream holds a thread until the build ends), TLS from a Spring SSL bundle when configured. Requests
 * that arrive on it are told apart by their local port ({@link #onOwnPort}). The API's port answers the subset too
 * ({@link #serves}); there a build's stream holds one of the API's threads, which is why there every build stream
 * counts as one of its caller's log follows (bounded per caller and in all: {@code gateway.builds.follow.*}).
 * Spring Boot applies the operator's {@code server.tomcat.*} limits (connections, accept queue, keep-alive, timeouts,
 * header, body and form sizes…) to its own connector only: they are copied here from the same properties, so the
 * Docker port is limited as the API's port is ({@link #limits}); only its thread pool is its own.
 */
@Component
class DockerApiServer implements WebServerFactoryCustomizer<TomcatServletWebServerFactory> {

    private static final Logger log = LoggerFactory.getLogger(DockerApiServer.class);

    private final DockerApiProperties properties;
    private final SslBundles bundles;
    private final ServerProperties server;
    private final TomcatServerProperties tomcat;
    private volatile Connector connector;

    @org.springframework.beans.factory.annotation.Autowired
    DockerApiServer(DockerApiProperties properties, SslBundles bundles, ObjectProvider<ServerProperties> server,
            ObjectProvider<TomcatServerProperties> tomcat) {
        this(properties, bundles, server.getIfAvailable(ServerProperties::new),
                tomcat.getIfAvailable(TomcatServerProperties::new));
    }

    DockerApiServer(DockerApiProperties properties, SslBundles bundles, ServerProperties server,
            TomcatServerProperties tomcat) {
        this.properties = properties;
        this.bundles = bundles;
        this.server = server;
        this.tomcat = tomcat;
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
        limits(c);
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

    /**
     * The operator's {@code server.tomcat.*} (and {@code server.max-http-request-header-size}) limits on this
     * connector, each under the condition Spring Boot's TomcatWebServerFactoryCustomizer applies it to its own
     * connector (a non-positive count or size leaves Tomcat's default where Boot does). Read from the properties, not
     * from the API's connector: an unbound connector answers 1 for max-keep-alive-requests (keep-alive off), so a
     * copy taken before the server starts would turn keep-alive off here. Thread counts other than the pool's size
     * follow the API's too, the minimum kept within this port's own {@code gateway.docker-api.max-threads}.
     */
    private void limits(Connector c) {
        TomcatServerProperties.Threads threads = tomcat.getThreads();
        if (c.getProtocolHandler() instanceof AbstractProtocol<?> protocol) {
            if (threads.getMinSpare() > 0) {
                protocol.setMinSpareThreads(Math.min(threads.getMinSpare(), properties.maxThreads()));
            }
            if (threads.getMaxQueueCapacity() > 0) {
                protocol.setMaxQueueSize(threads.getMaxQueueCapacity());
            }
            if (tomcat.getMaxConnections() > 0) {
                protocol.setMaxConnections(tomcat.getMaxConnections());
            }
            if (tomcat.getAcceptCount() > 0) {
                protocol.setAcceptCount(tomcat.getAcceptCount());
            }
            protocol.setProcessorCache(tomcat.getProcessorCache());
            if (tomcat.getKeepAliveTimeout() != null) {
                protocol.setKeepAliveTimeout((int) tomcat.getKeepAliveTimeout().toMillis());
            }
            if (tomcat.getConnectionTimeout() != null) {
                protocol.setConnectionTimeout((int) tomcat.getConnectionTimeout().toMillis());
            }
        }
        if (c.getProtocolHandler() instanceof AbstractHttp11Protocol<?> http11) {
            http11.setMaxKeepAliveRequests(tomcat.getMaxKeepAliveRequests());
            int requestHeader = bytes(server.getMaxHttpRequestHeaderSize());
            if (requestHeader > 0) {
                http11.setMaxHttpRequestHeaderSize(requestHeader);
            }
            int responseHeader = bytes(tomcat.getMaxHttpResponseHeaderSize());
            if (responseHeader > 0) {
                http11.setMaxHttpResponseHeaderSize(responseHeader);
            }
            if (tomcat.getMaxSwallowSize() != null) {
                // A refused upload is not read to its end beyond this (application.yaml: 2MB).
                http11.setMaxSwallowSize(bytes(tomcat.getMaxSwallowSize()));
            }
        }
        int formPost = bytes(tomcat.getMaxHttpFormPostSize());
        if (tomcat.getMaxHttpFormPostSize() != null && formPost != 0) {
            c.setMaxPostSize(formPost);
        }
        c.setMaxParameterCount(tomcat.getMaxParameterCount());
        c.setMaxPartCount(tomcat.getMaxPartCount());
        if (tomcat.getMaxPartHeaderSize() != null) {
            c.setMaxPartHeaderSize(bytes(tomcat.getMaxPartHeaderSize()));
        }
        String relaxedPath = chars(tomcat.getRelaxedPathChars());
        if (!relaxedPath.isEmpty()) {
            c.setProperty("relaxedPathChars", relaxedPath);
        }
        String relaxedQuery = chars(tomcat.getRelaxedQueryChars());
        if (!relaxedQuery.isEmpty()) {
            c.setProperty("relaxedQueryChars", relaxedQuery);
        }
        if (tomcat.getUriEncoding() != null) {
            c.setURIEncoding(tomcat.getUriEncoding().name());
        }
    }

    /** A size as Boot's customizer hands it to Tomcat (DataSize.toBytes as an int); 0 for none. */
    private static int bytes(DataSize size) {
        return size == null ? 0 : (int) size.toBytes();
    }

    private static String chars(java.util.List<Character> chars) {
        StringBuilder out = new StringBuilder();
        for (Character ch : chars == null ? java.util.List.<Character>of() : chars) {
            out.append(ch);
        }
        return out.toString();
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
