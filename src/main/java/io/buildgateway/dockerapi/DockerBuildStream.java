package io.buildgateway.dockerapi;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/**
 * Docker's JSON message stream, as the daemon writes a build's progress: one JSON object per message, each ended
 * by CRLF, flushed as written. The CLI prints {@code stream} as it is, keeps {@code aux.ID} as the image ID (what
 * {@code -q} and {@code --iidfile} give), and ends with {@code error} (exit status 1, the message on stderr).
 */
final class DockerBuildStream {

    /** The client is gone (a write failed). */
    static final class Gone extends RuntimeException {
        Gone(IOException cause) {
            super("docker client disconnected", cause, false, false);
        }
    }

    private static final byte[] END = "\r\n".getBytes(StandardCharsets.US_ASCII);

    private final OutputStream out;
    private final JsonMapper json;

    DockerBuildStream(OutputStream out, JsonMapper json) {
        this.out = out;
        this.json = json;
    }

    static DockerBuildStream open(HttpServletResponse response, JsonMapper json) throws IOException {
        response.setStatus(200);
        response.setContentType("application/json");
        response.setHeader("X-Accel-Buffering", "no");
        return new DockerBuildStream(response.getOutputStream(), json);
    }

    /** Text as the CLI prints it; one line, its line break added. */
    void stream(String line) {
        write(Map.of("stream", line + "\n"));
    }

    /** The image ID of the build's result; the CLI prints nothing for it. */
    void aux(String id) {
        write(Map.of("aux", Map.of("ID", id)));
    }

    /** An aux message without an ID: the CLI ignores it; it proves the client is still there. */
    void heartbeat() {
        write(Map.of("aux", Map.of()));
    }

    /** The build's end in failure: the CLI prints the message and exits with status 1. */
    void error(String message) {
        write(Map.of("errorDetail", Map.of("message", message), "error", message));
    }

    private void write(Object message) {
        try {
            out.write(json.writeValueAsBytes(message));
            out.write(END);
            out.flush();
        } catch (IOException e) {
            throw new Gone(e);
        }
    }
}
