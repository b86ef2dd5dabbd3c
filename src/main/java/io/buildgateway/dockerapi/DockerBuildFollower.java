package io.buildgateway.dockerapi;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.builds.BuildStatus;
import io.buildgateway.builds.BuildSubmissions;
import io.buildgateway.builds.BuildView;
import io.buildgateway.policy.Finding;
import io.buildgateway.shared.DatabaseUnavailable;
import java.time.Duration;
import java.util.UUID;

/**
 * Follows one build's log into a {@link DockerBuildStream} until the build is final, on the request's own thread
 * (the Docker API port has a thread pool of its own; on the API's port it is one of the API's, and there each
 * stream counts as one of its caller's log follows, DockerApiFilter). The daemon's lines (steps, their output) are written as they
 * are, so the CLI shows a normal build; the gateway's own lines carry {@link #GATEWAY}, and a step line that starts
 * with it is shown after {@code "| "}, so that build output cannot pass for the gateway's (issue #11).
 */
final class DockerBuildFollower {

    static final String GATEWAY = "[gateway] ";
    /** How long a stream waits for an unreachable database before it ends with an error saying so. */
    static final Duration DATABASE_PATIENCE = Duration.ofSeconds(60);
    /** The longest the stream stays silent: then a heartbeat (an empty aux message the CLI ignores). */
    static final Duration HEARTBEAT = Duration.ofSeconds(10);

    /** What the follower reads: a build's log from an offset and its view, as its caller may see them. */
    interface Source {
        BuildSubmissions.LogRead readLog(UUID id, long offset);

        BuildView get(UUID id);
    }

    private final Source source;
    private final Duration pollInterval;
    private final Duration databasePatience;
    private final Duration heartbeat;

    DockerBuildFollower(BuildSubmissions submissions, GatewayPrincipal principal, Duration pollInterval) {
        this(new Source() {
            @Override
            public BuildSubmissions.LogRead readLog(UUID id, long offset) {
                return submissions.readLog(id, offset, principal);
            }

            @Override
            public BuildView get(UUID id) {
                return submissions.get(id, principal);
            }
        }, pollInterval, DATABASE_PATIENCE, HEARTBEAT);
    }

    DockerBuildFollower(Source source, Duration pollInterval, Duration databasePatience, Duration heartbeat) {
        this.source = source;
        this.pollInterval = pollInterval;
        this.databasePatience = databasePatience;
        this.heartbeat = heartbeat;
    }

    /** A queued build: its policy findings, its log as it grows, and its end (the pushed reference, or an error). */
    void follow(BuildView build, DockerBuildStream stream) {
        stream.stream(GATEWAY + "build " + build.id() + ": " + build.image() + ":" + build.tag() + " passed policy "
                + build.policyDigest());
        for (Finding f : build.findings()) {
            stream.stream(GATEWAY + finding(f));
        }
        long offset = 0;
        long lastWrite = System.nanoTime();
        Long unavailableSince = null;
        while (true) {
            try {
                BuildSubmissions.LogRead read = source.readLog(build.id(), offset);
                read.lines().forEach(line -> stream.stream(render(line)));
                offset = read.next();
                unavailableSince = null;
                if (!read.lines().isEmpty()) {
                    lastWrite = System.nanoTime();
                    continue;
                }
                BuildView now = source.get(build.id());
                if (now.status().isFinal()) {
                    offset = drain(build.id(), offset, stream);
                    end(now, stream);
                    return;
                }
            } catch (RuntimeException e) {
                // The database away (restarting, failing over) while the 200 stream is open: wait for it with
                // heartbeats, as the API's log follows do, then end the stream with an error the CLI prints (before,
                // the exception left the filter after the stream had begun: a servlet error and a broken
                // connection; a review's find, 2026-12-07). The build goes on either way.
                if (!DatabaseUnavailable.is(e)) {
                    throw e;
                }
                long at = System.nanoTime();
                unavailableSince = unavailableSince == null ? at : unavailableSince;
                if (at - unavailableSince > databasePatience.toNanos()) {
                    stream.error("the gateway's database cannot be reached; build " + build.id() + " goes on: follow"
                            + " it with `gw logs " + build.id() + "` once the gateway answers again");
                    return;
                }
            }
            // by the time since the last write, not by polls: a poll that waits for an away database's connection
            // takes seconds, and a proxy's idle timeout would end the stream (and so cancel the build) meanwhile
            if (System.nanoTime() - lastWrite >= heartbeat.toNanos()) {
                stream.heartbeat();
                lastWrite = System.nanoTime();
            }
            try {
                Thread.sleep(pollInterval.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stream.error("the gateway is stopping; build " + build.id() + " goes on: follow it with `gw logs "
                        + build.id() + "`");
                return;
            }
        }
    }

    /** A build the policy rejected: its log (the findings) and an error, so the CLI exits non-zero. */
    void rejected(UUID id, DockerBuildStream stream) {
        BuildView build;
        try {
            drain(id, 0, stream);
            build = source.get(id);
        } catch (RuntimeException e) {
            if (!DatabaseUnavailable.is(e)) {
                throw e;
            }
            // recorded and audited already: said so, not answered 503 "nothing was recorded" (a review's find)
            stream.error("rejected by policy (build " + id + "); the gateway's database cannot be reached to show"
                    + " the findings: read them with `gw status " + id + "` once the gateway answers again");
            return;
        }
        stream.error((build.failureReason() == null ? "rejected by policy" : build.failureReason()) + " (build "
                + id + "); the findings are above");
    }

    private long drain(UUID id, long offset, DockerBuildStream stream) {
        while (true) {
            BuildSubmissions.LogRead read = source.readLog(id, offset);
            read.lines().forEach(line -> stream.stream(render(line)));
            if (read.next() == offset) {
                return offset;
            }
            offset = read.next();
        }
    }

    private static void end(BuildView build, DockerBuildStream stream) {
        if (build.status() == BuildStatus.SUCCEEDED && build.imageRef() != null) {
            int at = build.imageRef().indexOf('@');
            String tagged = (at < 0 ? build.imageRef() : build.imageRef().substring(0, at)) + ":" + build.tag();
            stream.stream(GATEWAY + "Successfully built and pushed " + tagged + " as " + build.imageRef());
            stream.aux(at < 0 ? build.imageDigest() : build.imageRef());
        } else {
            stream.error("build " + build.id() + " " + build.status().name().toLowerCase() + ": "
                    + (build.failureReason() == null ? "no reason recorded" : build.failureReason()));
        }
    }

    static String render(BuildSubmissions.LogLine line) {
        if (line.gateway()) {
            return GATEWAY + line.text();
        }
        return line.text().startsWith(GATEWAY.trim()) ? "| " + line.text() : line.text();
    }

    static String finding(Finding f) {
        return f.severity() + " " + f.rule() + (f.line() == null ? "" : " (line " + f.line() + ")") + ": "
                + f.message() + (Boolean.TRUE.equals(f.waived()) ? " [waived]" : "");
    }
}
