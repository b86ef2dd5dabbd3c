package io.buildgateway.dockerapi;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.builds.BuildStatus;
import io.buildgateway.builds.BuildSubmissions;
import io.buildgateway.builds.BuildView;
import io.buildgateway.policy.Finding;
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
    /** Idle polls between two heartbeats (with the default interval of 250 ms, about ten seconds). */
    private static final int HEARTBEAT_POLLS = 40;

    private final BuildSubmissions submissions;
    private final GatewayPrincipal principal;
    private final Duration pollInterval;

    DockerBuildFollower(BuildSubmissions submissions, GatewayPrincipal principal, Duration pollInterval) {
        this.submissions = submissions;
        this.principal = principal;
        this.pollInterval = pollInterval;
    }

    /** A queued build: its policy findings, its log as it grows, and its end (the pushed reference, or an error). */
    void follow(BuildView build, DockerBuildStream stream) {
        stream.stream(GATEWAY + "build " + build.id() + ": " + build.image() + ":" + build.tag() + " passed policy "
                + build.policyDigest());
        for (Finding f : build.findings()) {
            stream.stream(GATEWAY + finding(f));
        }
        long offset = 0;
        int idle = 0;
        while (true) {
            BuildSubmissions.LogRead read = submissions.readLog(build.id(), offset, principal);
            read.lines().forEach(line -> stream.stream(render(line)));
            offset = read.next();
            if (!read.lines().isEmpty()) {
                idle = 0;
                continue;
            }
            BuildView now = submissions.get(build.id(), principal);
            if (now.status().isFinal()) {
                offset = drain(build.id(), offset, stream);
                end(now, stream);
                return;
            }
            if (++idle % HEARTBEAT_POLLS == 0) {
                stream.heartbeat();
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
        drain(id, 0, stream);
        BuildView build = submissions.get(id, principal);
        stream.error((build.failureReason() == null ? "rejected by policy" : build.failureReason()) + " (build "
                + id + "); the findings are above");
    }

    private long drain(UUID id, long offset, DockerBuildStream stream) {
        while (true) {
            BuildSubmissions.LogRead read = submissions.readLog(id, offset, principal);
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
