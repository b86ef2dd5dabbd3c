package io.buildgateway.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.catalina.connector.Connector;
import org.springframework.boot.tomcat.TomcatWebServer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;

/**
 * The stock Docker CLI of this machine ({@code docker} on the PATH, version 28), run as a developer runs it: the
 * classic builder ({@code DOCKER_BUILDKIT=0}), a config folder of the test's own, output and exit status kept.
 */
public final class DockerCli {

    /** What the terminal showed (stdout and stderr together) and the exit status. */
    public record Run(int exit, String output) {
    }

    private DockerCli() {
    }

    public static Run run(Path config, String host, Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("DOCKER_TLS_VERIFY");
        pb.environment().remove("DOCKER_CERT_PATH");
        pb.environment().put("DOCKER_HOST", host);
        pb.environment().put("DOCKER_BUILDKIT", "0");
        pb.environment().put("DOCKER_CONFIG", config.toString());
        pb.environment().putAll(env);
        try {
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
            return new Run(p.exitValue(), out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The gateway's Docker Engine API port: the connector that is not the server's main one. */
    public static int enginePort(WebServerApplicationContext context) {
        TomcatWebServer server = (TomcatWebServer) context.getWebServer();
        int main = server.getPort();
        for (Connector c : server.getTomcat().getService().findConnectors()) {
            if (c.getLocalPort() > 0 && c.getLocalPort() != main) {
                return c.getLocalPort();
            }
        }
        throw new IllegalStateException("the gateway has no Docker Engine API connector (gateway.docker-api)");
    }
}
