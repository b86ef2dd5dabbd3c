package io.buildgateway.builds;

import io.buildgateway.egress.EgressSession;
import io.buildgateway.intake.ContextIntake;
import io.buildgateway.policy.RemoteSources;
import io.buildgateway.shared.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.springframework.stereotype.Component;

/**
 * {@code ADD <url>} of an egress build (issue #14, docs/egress.md "ADD <url>"): BuildKit fetches an ADD's URL from
 * the daemon's own process, which has no route out and no per-build proxy, so the gateway fetches each URL for the
 * build through the build's own egress session (judged by its allowlist or pin, recorded with its sha256, refused
 * with the proxy's line), checks {@code --checksum}, and hands the daemon the built context with the fetched files
 * added and each such ADD rewritten into a COPY of them ({@code dockerfile.RemoteAdds}); an ONBUILD ADD trigger of a
 * stage that a later stage of the same Dockerfile builds FROM is fetched and rewritten the same way (into an ONBUILD
 * COPY, which fires with this build's context). A build without a session
 * is left alone: its ADD of a URL fails in the confined daemon, as before.
 */
@Component
class RemoteAddFetch {

    /** Redirects followed for one URL, each judged again by the proxy (Go's client, and so BuildKit, stops at 10). */
    static final int MAX_REDIRECTS = 10;

    private final ContextIntake intake;

    RemoteAddFetch(ContextIntake intake) {
        this.intake = intake;
    }

    /**
     * What the daemon builds: {@code context} unchanged (no ADD of a URL), a new context in {@code scratch} to be
     * deleted with it after the run, or the reason the build fails before it reaches the daemon.
     */
    record Prepared(Path context, Path scratch, String failure) {
        static Prepared unchanged(Path context) {
            return new Prepared(context, null, null);
        }
    }

    Prepared prepare(UUID build, Path context, String dockerfilePath, Map<String, String> buildArgs, String target,
            EgressSession session, Consumer<String> log) throws IOException {
        String canonical = intake.dockerfileOf(context, dockerfilePath);
        List<RemoteSources.Add> adds = RemoteSources.find(canonical, buildArgs, target);
        if (adds.isEmpty()) {
            return Prepared.unchanged(context);
        }
        for (RemoteSources.Add a : adds) {
            if (a.problem() != null) {
                return new Prepared(null, null, a.problem() + " (line " + a.line() + " of the canonical Dockerfile)");
            }
        }
        Path scratch = intake.scratch();
        boolean keep = false;
        try {
            String folder = ".buildgateway-add-" + build;
            Map<Integer, List<String>> rewrite = new LinkedHashMap<>();
            List<ContextIntake.FetchedFile> files = new ArrayList<>();
            int n = 0;
            for (RemoteSources.Add a : adds) {
                List<String> paths = new ArrayList<>();
                for (int k = 0; k < a.urls().size(); k++) {
                    String url = a.urls().get(k);
                    Path body = scratch.resolve(++n + ".body");
                    EgressSession.Fetched got = follow(session, url, body);
                    if (got.status() != 200) {
                        return new Prepared(null, null, "ADD " + url + ": " + (got.status() == 403
                                || got.status() == 407 ? got.text() : "the mirror answered " + got.status() + " "
                                + got.reason()));
                    }
                    if (a.checksum() != null && !a.checksum().equals("sha256:" + got.sha256())) {
                        String line = "ADD " + url + ": --checksum=" + a.checksum() + " but the mirror served sha256:"
                                + got.sha256();
                        log.accept(line);
                        return new Prepared(null, null, line);
                    }
                    log.accept("ADD " + url + ": fetched by the gateway through the egress proxy, " + got.size()
                            + " bytes, sha256:" + got.sha256());
                    String path = folder + "/" + n + "/" + a.names().get(k);
                    // Mode 0600: what ADD gives a remote file unless --chmod says otherwise (kept on the COPY).
                    files.add(new ContextIntake.FetchedFile(path, body, 0600, mtime(got.lastModified())));
                    paths.add(path);
                }
                rewrite.put(a.line(), paths);
            }
            byte[] dockerfile = RemoteSources.rewrite(canonical, rewrite).getBytes(StandardCharsets.UTF_8);
            Path out = scratch.resolve("context.tar");
            Digest digest = intake.withFetched(context, dockerfilePath, dockerfile, folder, files, out);
            log.accept("The daemon builds " + digest + ": the built context with the " + files.size()
                    + " fetched file(s), each ADD of a URL as a COPY of its file");
            keep = true;
            return new Prepared(out, scratch, null);
        } finally {
            if (!keep) {
                delete(scratch);
            }
        }
    }

    /** GET through the session, following redirects (each new URL judged by the proxy again). */
    private static EgressSession.Fetched follow(EgressSession session, String url, Path body) throws IOException {
        String at = url;
        for (int hop = 0; ; hop++) {
            EgressSession.Fetched got;
            try (OutputStream out = Files.newOutputStream(body)) {
                got = session.fetch(at, out);
            }
            boolean redirect = got.status() == 301 || got.status() == 302 || got.status() == 303
                    || got.status() == 307 || got.status() == 308;
            if (!redirect || got.location() == null || hop == MAX_REDIRECTS) {
                return got;
            }
            at = URI.create(at).resolve(got.location()).toString();
        }
    }

    /** Last-Modified as whole seconds (the mtime ADD gives a remote file), or 0 (the epoch) without one. */
    static long mtime(String lastModified) {
        if (lastModified == null) {
            return 0;
        }
        try {
            return ZonedDateTime.parse(lastModified, DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
        } catch (java.time.format.DateTimeParseException e) {
            return 0;
        }
    }

    static void delete(Path scratch) {
        if (scratch == null) {
            return;
        }
        try (var files = Files.list(scratch)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(scratch);
        } catch (IOException e) {
            // best effort: leftovers under incoming/ are removed at the next start
        }
    }
}
