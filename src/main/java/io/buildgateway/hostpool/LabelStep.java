package io.buildgateway.hostpool;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** The context of the labelling step: a Dockerfile {@code FROM <image id>} with one LABEL instruction. */
final class LabelStep {

    private LabelStep() {
    }

    static String dockerfile(String imageId, Map<String, String> labels) {
        if (!imageId.matches("sha256:[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a full image id");
        }
        StringBuilder out = new StringBuilder("FROM ").append(imageId).append("\nLABEL");
        new TreeMap<>(labels).forEach((k, v) -> out.append(' ').append(quote(k)).append('=').append(quote(v)));
        return out.append('\n').toString();
    }

    /**
     * A double-quoted Dockerfile word whose content is taken literally: quotes, backslashes and {@code $} are
     * escaped so that no variable is expanded and no quote ends the word. Line breaks cannot be expressed and are
     * refused (the API refuses control characters in labels before this point).
     */
    static String quote(String value) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\n' || c == '\r') {
                throw new IllegalArgumentException("labels cannot contain line breaks");
            }
            if (c == '"' || c == '\\' || c == '$') {
                out.append('\\');
            }
            out.append(c);
        }
        return out.append('"').toString();
    }

    static byte[] context(String imageId, Map<String, String> labels) {
        byte[] dockerfile = dockerfile(imageId, labels).getBytes(StandardCharsets.UTF_8);
        try (ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            TarArchiveEntry entry = new TarArchiveEntry("Dockerfile");
            entry.setSize(dockerfile.length);
            tar.putArchiveEntry(entry);
            tar.write(dockerfile);
            tar.closeArchiveEntry();
            tar.finish();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
