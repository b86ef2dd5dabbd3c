package io.buildgateway.dockerapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import org.apache.catalina.connector.Connector;
import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.web.WebProperties;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.ssl.DefaultSslBundleRegistry;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.tomcat.autoconfigure.TomcatServerProperties;
import org.springframework.boot.tomcat.autoconfigure.TomcatWebServerFactoryCustomizer;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.web.server.autoconfigure.ServerProperties;
import org.springframework.mock.env.MockEnvironment;

/**
 * The Docker Engine API's connector gets the operator's {@code server.tomcat.*} limits, which Spring Boot applies to
 * its own connector only: a real Tomcat, customized by Boot's own customizer and then by DockerApiServer, started on
 * free ports, and the second connector's settings read once it is bound (an unbound connector answers 1 for
 * max-keep-alive-requests).
 */
class DockerApiServerTest {

    private static final Map<String, String> CONFIGURED = Map.ofEntries(
            Map.entry("server.max-http-request-header-size", "16KB"),
            Map.entry("server.tomcat.max-connections", "123"),
            Map.entry("server.tomcat.accept-count", "17"),
            Map.entry("server.tomcat.processor-cache", "55"),
            Map.entry("server.tomcat.keep-alive-timeout", "7s"),
            Map.entry("server.tomcat.max-keep-alive-requests", "42"),
            Map.entry("server.tomcat.connection-timeout", "9s"),
            Map.entry("server.tomcat.max-swallow-size", "3MB"),
            Map.entry("server.tomcat.max-http-form-post-size", "1MB"),
            Map.entry("server.tomcat.max-http-response-header-size", "12KB"),
            Map.entry("server.tomcat.max-parameter-count", "77"),
            Map.entry("server.tomcat.max-part-count", "5"),
            Map.entry("server.tomcat.max-part-header-size", "1KB"),
            Map.entry("server.tomcat.threads.min-spare", "3"),
            Map.entry("server.tomcat.threads.max-queue-capacity", "99"));

    @Test
    void theDockerPortGetsTheOperatorsTomcatLimitsAndKeepsKeepAlive() {
        Binder binder = new Binder(new MapConfigurationPropertySource(CONFIGURED));
        ServerProperties server = binder.bindOrCreate("server", Bindable.of(ServerProperties.class));
        TomcatServerProperties tomcat = binder.bindOrCreate("server.tomcat",
                Bindable.of(TomcatServerProperties.class));
        TomcatServletWebServerFactory factory = new TomcatServletWebServerFactory(0);
        new TomcatWebServerFactoryCustomizer(new MockEnvironment(), server, tomcat, new WebProperties())
                .customize(factory);
        DockerApiServer docker = new DockerApiServer(new DockerApiProperties(true, 0, "127.0.0.1", null,
                Ssl.ClientAuth.WANT, "linux/amd64", 8, Duration.ofMillis(250)), new DefaultSslBundleRegistry(),
                server, tomcat);
        docker.customize(factory);

        TomcatWebServer web = (TomcatWebServer) factory.getWebServer();
        try {
            web.start();
            Connector[] connectors = web.getTomcat().getService().findConnectors();
            Connector api = web.getTomcat().getConnector();
            Connector dockerPort = Arrays.stream(connectors).filter(c -> c != api).findFirst().orElseThrow();
            assertThat(dockerPort.getLocalPort()).isEqualTo(docker.port()).isPositive();
            AbstractHttp11Protocol<?> p = (AbstractHttp11Protocol<?>) dockerPort.getProtocolHandler();

            assertThat(p.getMaxConnections()).isEqualTo(123);
            assertThat(p.getAcceptCount()).isEqualTo(17);
            assertThat(p.getProcessorCache()).isEqualTo(55);
            assertThat(p.getKeepAliveTimeout()).isEqualTo(7000);
            assertThat(p.getMaxKeepAliveRequests()).as("keep-alive stays on").isEqualTo(42);
            assertThat(p.getConnectionTimeout()).isEqualTo(9000);
            assertThat(p.getMaxSwallowSize()).isEqualTo(3 * 1024 * 1024);
            assertThat(p.getMaxHttpRequestHeaderSize()).isEqualTo(16 * 1024);
            assertThat(p.getMaxHttpResponseHeaderSize()).isEqualTo(12 * 1024);
            assertThat(dockerPort.getMaxPostSize()).isEqualTo(1024 * 1024);
            assertThat(dockerPort.getMaxParameterCount()).isEqualTo(77);
            assertThat(dockerPort.getMaxPartCount()).isEqualTo(5);
            assertThat(dockerPort.getMaxPartHeaderSize()).isEqualTo(1024);
            assertThat(p.getMinSpareThreads()).isEqualTo(3);
            assertThat(p.getMaxQueueSize()).isEqualTo(99);
            assertThat(p.getMaxThreads()).as("the Docker port's own pool").isEqualTo(8);

            // the same as Boot gave its own connector (the pool size aside)
            AbstractHttp11Protocol<?> a = (AbstractHttp11Protocol<?>) api.getProtocolHandler();
            assertThat(p.getMaxKeepAliveRequests()).isEqualTo(a.getMaxKeepAliveRequests());
            assertThat(p.getKeepAliveTimeout()).isEqualTo(a.getKeepAliveTimeout());
            assertThat(p.getMaxConnections()).isEqualTo(a.getMaxConnections());
            assertThat(p.getMaxSwallowSize()).isEqualTo(a.getMaxSwallowSize());
            assertThat(dockerPort.getMaxPostSize()).isEqualTo(api.getMaxPostSize());
        } finally {
            web.stop();
        }
    }
}
