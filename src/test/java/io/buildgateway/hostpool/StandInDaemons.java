package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * What the transport tests share about their stand-in daemons (a socket server on a thread of its own, standing in
 * for dockerd where a real one cannot be made to behave so: silent for seconds, or restarting between two requests).
 */
final class StandInDaemons {

    private StandInDaemons() {
    }

    /** A ping on the transport, answered "OK": it leaves a kept connection in the pool, as a build's requests do. */
    static void ping(DockerHttpClient http) throws IOException {
        try (DockerHttpClient.Response ping = http.execute(DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET).path("/_ping").build())) {
            assertThat(new String(ping.getBody().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("OK");
        }
    }

    /**
     * Reads a request's head up to and with its empty line, as ISO-8859-1 text; null when the connection ends first
     * (the client closed it between requests).
     */
    static String head(InputStream in) throws IOException {
        ByteArrayOutputStream seen = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
            seen.write(b);
            String s = seen.toString(StandardCharsets.ISO_8859_1);
            if (s.endsWith("\r\n\r\n")) {
                return s;
            }
        }
        return null;
    }

    /** Closes the stand-in's server socket (either may be null: the test did not get that far) and waits for it. */
    static void stop(AutoCloseable server, Thread serving) throws Exception {
        if (server != null) {
            server.close();
        }
        if (serving != null) {
            serving.join(2000);
        }
    }
}
