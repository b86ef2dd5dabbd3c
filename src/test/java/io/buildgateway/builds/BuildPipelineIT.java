package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The build path end to end, on the real user-namespaced daemon and registry. */
class BuildPipelineIT extends IntegrationTest {

    private static final String OK_DOCKERFILE = """
            FROM %s/base/busybox
            COPY payload.bin /srv/payload.bin
            RUN echo "ifaces: $(ls /sys/class/net | tr '\\n' ' ')end" && echo "uid-map: $(cat /proc/self/uid_map)"
            USER 65534
            """;

    @Test
    void aSubmissionQueryIsReadAsGivenNotAsSpringWouldBindIt() {
        String token = builder("payments");
        byte[] context = Tars.tar().file("Dockerfile", OK_DOCKERFILE.formatted(registryAddress())).bytes();

        // A repeated tag would be joined into "1,2" by Spring's binding, a typo dropped: both are refused, with
        // the invalid value, in one problem.
        JsonNode p = problem(submit(token, "image=payments/query&tag=1&tag=2&noCach=true&noCache=yes", context),
                400);
        assertThat(p.path("type").asString()).endsWith("/invalid-parameter");
        assertThat(p.path("detail").asString()).isEqualTo("the request has 3 invalid parameters");
        assertThat(p.path("errors").findValuesAsString("field")).containsExactly("noCach", "tag", "noCache");
        assertThat(p.path("errors").findValuesAsString("message")).containsExactly("unknown parameter",
                "given more than once", "must be true or false");
    }

    @Test
    void buildsFromApprovedBaseAndPushesAnImageThatCanBePulledByDigest() throws Exception {
        String token = builder("payments");
        byte[] context = Tars.tar().file("Dockerfile", OK_DOCKERFILE.formatted(registryAddress()))
                .file("payload.bin", new byte[4096]).bytes();

        Response accepted = submit(token, "image=payments/hello&tag=v1&noCache=true&label=owner=payments&label=note=%22q%22%20%24HOME%20%5C&buildArg=MODE=test",
                context);

        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        JsonNode queued = read(accepted);
        String id = queued.path("id").asString();
        assertThat(accepted.header("Location")).isEqualTo("/api/v1/builds/" + id);
        assertThat(queued.path("status").asString()).isEqualTo("QUEUED");
        assertThat(queued.path("contextDigest").asString()).isEqualTo("sha256:" + sha256Hex(context));
        assertThat(queued.path("team").asString()).isEqualTo("payments");

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(done.path("host").asString()).isEqualTo("userns-1");
        String digest = done.path("imageDigest").asString();
        assertThat(digest).matches("sha256:[0-9a-f]{64}");
        assertThat(done.path("imageRef").asString()).isEqualTo(registryAddress() + "/payments/hello@" + digest);
        // The status read (one statement of the view's columns) shows exactly what the list (the entity) shows:
        // a column added to the view but not to the statement would differ here.
        JsonNode listed = null;
        for (JsonNode item : read(get(token, "/api/v1/builds?image=payments/hello&limit=500")).path("items")) {
            if (item.path("id").asString().equals(id)) {
                listed = item;
            }
        }
        assertThat(listed).as("the build in the list").isNotNull();
        assertThat(done).isEqualTo(listed);
        assertThat(done.path("buildArgs").toString()).contains("MODE");
        assertThat(done.path("labels").path("owner").asString()).isEqualTo("payments");

        // Pull the manifest back by digest: the registry serves exactly the bytes with that digest.
        Response manifest = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress()
                + "/v2/payments/hello/manifests/" + digest))
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").GET());
        assertThat(manifest.status()).isEqualTo(200);
        assertThat("sha256:" + sha256Hex(manifest.body().getBytes())).isEqualTo(digest);

        // The image carries the gateway's labels and the caller's.
        String configDigest = json.readTree(manifest.body()).path("config").path("digest").asString();
        JsonNode config = json.readTree(send(HttpRequest.newBuilder(URI.create("http://" + registryAddress()
                + "/v2/payments/hello/blobs/" + configDigest)).GET()).body());
        JsonNode labels = config.path("config").path("Labels");
        assertThat(labels.path("io.buildgateway.build-id").asString()).isEqualTo(id);

        // The daemon pushed the image into the build's quarantine while it was checked (the blobs it uploaded are
        // linked there), and the gateway gave the same manifest its name and deleted the quarantine's manifest.
        List<String> runs = quarantineRepositories(id);
        assertThat(runs).as("one run, one quarantine repository").hasSize(1);
        String quarantine = "http://" + registryAddress() + "/v2/" + runs.get(0);
        assertThat(send(HttpRequest.newBuilder(URI.create(quarantine + "/blobs/" + configDigest))
                .method("HEAD", HttpRequest.BodyPublishers.noBody())).status()).isEqualTo(200);
        // the quarantine's copy is deleted beside the build's recording, not before it: given a few seconds
        for (int i = 0; i < 100 && send(HttpRequest.newBuilder(URI.create(quarantine + "/manifests/" + digest))
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").GET()).status() != 404;
                i++) {
            Thread.sleep(50);
        }
        assertThat(send(HttpRequest.newBuilder(URI.create(quarantine + "/manifests/" + digest))
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").GET()).status())
                .isEqualTo(404);
        assertThat(send(HttpRequest.newBuilder(URI.create(quarantine + "/manifests/checking"))
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").GET()).status())
                .isEqualTo(404);
        assertThat(registryDigest("payments/hello", "v1")).isEqualTo(digest);
        assertThat(labels.path("io.buildgateway.context-digest").asString()).isEqualTo("sha256:" + sha256Hex(context));
        assertThat(labels.path("io.buildgateway.requested-by").asString()).startsWith("t-");
        assertThat(labels.path("io.buildgateway.policy-digest").asString()).isEqualTo(
                queued.path("policyDigest").asString());
        assertThat(labels.path("owner").asString()).isEqualTo("payments");
        assertThat(labels.path("note").asString()).isEqualTo("\"q\" $HOME \\");
        assertThat(config.path("config").path("User").asString()).isEqualTo("65534");

        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        // The daemon's BuildKit trace, as step output: the three Dockerfile steps in order, each done, then the image
        // written, and that image is the one the gateway verifies and pushes. The FROM's step label may be another
        // build's: BuildKit shares the vertex of one pinned base among the builds of a host that load it at once, named
        // after the first (seen in make test: "[1/2] FROM …@sha256:…" in this three-step build).
        assertThat(log).containsPattern("(?ms)^\\| #(\\d+) \\[(?:[\\w-]+ )?1/\\d+\\] FROM "
                + java.util.regex.Pattern.quote(registryAddress())
                + "/base/busybox\\b.*^\\| #(\\d+) \\[2/3\\] COPY payload\\.bin /srv/payload\\.bin\n"
                + "\\| #\\2 (?:DONE|CACHED).*^\\| #(\\d+) \\[3/3\\] RUN echo .*^\\| #\\3 (?:DONE|CACHED)");
        // The vertex's DONE may come before or after its last log lines: BuildKit sends status and logs apart
        // (make test once saw "#7 DONE 0.1s" before "#7 exporting layers done" and "#7 writing image … done").
        java.util.regex.Matcher written = java.util.regex.Pattern.compile(
                "(?m)^\\| #(\\d+) writing image (sha256:[0-9a-f]{64}) done$").matcher(log);
        assertThat(written.find()).as(log).isTrue();
        assertThat(log).as("the export vertex ended").contains("\n| #" + written.group(1) + " DONE ");
        assertThat(log).contains("\nVerifying " + written.group(2) + " ").contains("\nPushed " + registryAddress()
                + "/payments/hello@" + digest + "\n");
        // Step containers are remapped: container root is not host root.
        assertThat(log).containsPattern("uid-map:\\s+0\\s+[1-9][0-9]*\\s+");

        assertThat(auditCount("build.queued", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.started", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.succeeded", "build/" + id)).isEqualTo(1);
    }

    @Test
    void aDerivedImagesQuarantinePushUploadsOnlyItsOwnLayersNotTheBasesAgain() throws Exception {
        String token = builder("payments");
        Response baseManifest = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress()
                + "/v2/base/busybox/manifests/latest")).header("Accept",
                "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
                .GET());
        assertThat(baseManifest.status()).isEqualTo(200);
        List<String> baseLayers = json.readTree(baseManifest.body()).path("layers").findValuesAsString("digest");
        assertThat(baseLayers).isNotEmpty();
        // what the build host's daemon asks the registry (its token registry's access log)
        java.nio.file.Path registryLog = java.nio.file.Path.of(require("BGW_STATE"), "registry",
                "token-registry.log");
        long from = java.nio.file.Files.size(registryLog);

        // Four builds in a row: dockerd's push tries at most three mounts (one for a layer under 100 kB), from the
        // repositories its own records name, the most alike to the target first: earlier builds' quarantine
        // repositories, which no push token reads (the registry answers 401), so the base's layers were uploaded
        // again unless the gateway linked them into the quarantine before the push.
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            byte[] context = Tars.tar().file("Dockerfile", ("FROM %s/base/busybox\nCOPY payload.bin"
                    + " /srv/payload.bin\nUSER 65534\n").formatted(registryAddress())).file("payload.bin",
                    ("derived " + i + " " + java.util.UUID.randomUUID()).getBytes(
                            java.nio.charset.StandardCharsets.UTF_8)).bytes();
            Response accepted = submit(token, "image=payments/derived&tag=d" + i + "&noCache=true", context);
            assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
            String id = read(accepted).path("id").asString();
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
            ids.add(id);
        }

        String requests;
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(registryLog)) {
            in.skipNBytes(Math.min(from, java.nio.file.Files.size(registryLog)));
            requests = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).replace("%3A", ":")
                    .replace("%3a", ":");
        }
        for (String id : ids) {
            List<String> runs = quarantineRepositories(id);
            assertThat(runs).hasSize(1);
            String quarantine = java.util.regex.Pattern.quote(runs.get(0));
            // the daemon did push into the quarantine, and its uploads show in the log: the image's own layer
            assertThat(requests).as("build %s's push in the registry's log", id)
                    .containsPattern("\"PUT /v2/" + quarantine + "/blobs/uploads/\\S*digest=sha256:");
            for (String layer : baseLayers) {
                // the push asked the quarantine about the base's layer and found it (linked by the gateway before)
                assertThat(requests).as("build %s: the base layer %s found in its quarantine", id, layer)
                        .containsPattern("\"HEAD /v2/" + quarantine + "/blobs/" + layer + " HTTP/1\\.1\" 200 ");
                assertThat(requests).as("build %s: the base layer %s uploaded again", id, layer)
                        .doesNotContainPattern("\"(PUT|PATCH) /v2/" + quarantine + "/blobs/uploads/\\S*digest="
                                + layer);
            }
        }
    }

    @Test
    void imagesThatDeclareOnbuildTriggersKeepThemAndGetTheirLabels() throws Exception {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "ONBUILD RUN echo triggered\nUSER 65534\n");
        String id = read(submit(token, "image=payments/onbuild-base&tag=1&label=kind=base", context))
                .path("id").asString();

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));

        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        Response manifest = send(HttpRequest.newBuilder(URI.create("http://" + registryAddress()
                + "/v2/payments/onbuild-base/manifests/" + done.path("imageDigest").asString()))
                .header("Accept", "application/vnd.docker.distribution.manifest.v2+json").GET());
        String configDigest = json.readTree(manifest.body()).path("config").path("digest").asString();
        JsonNode config = json.readTree(send(HttpRequest.newBuilder(URI.create("http://" + registryAddress()
                + "/v2/payments/onbuild-base/blobs/" + configDigest)).GET()).body()).path("config");
        assertThat(config.path("OnBuild").get(0).asString()).isEqualTo("RUN echo triggered");
        assertThat(config.path("Labels").path("io.buildgateway.build-id").asString()).isEqualTo(id);
        assertThat(config.path("Labels").path("kind").asString()).isEqualTo("base");
        assertThat(get(token, "/api/v1/builds/" + id + "/logs").body()).doesNotContain("\ntriggered\n");
    }

    @Test
    void runStepsSeeNoNetworkButLoopback() {
        String token = builder("payments");
        byte[] context = Tars.tar().file("Dockerfile", OK_DOCKERFILE.formatted(registryAddress()))
                .file("payload.bin", "x").bytes();
        String id = read(submit(token, "image=payments/netcheck&tag=1&noCache=true", context)).path("id").asString();

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));

        assertThat(done.path("status").asString()).isEqualTo("SUCCEEDED");
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(log).contains("ifaces: lo end");
    }

    @Test
    void refusesHostWithoutUserNamespaces() {
        JsonNode hosts = read(get(ADMIN_SECRET, "/api/v1/hosts"));

        JsonNode plain = find(hosts, "plain-1");
        JsonNode userns = find(hosts, "userns-1");
        assertThat(plain.path("healthy").asBoolean()).isFalse();
        assertThat(plain.path("usernsRemap").asBoolean()).isFalse();
        assertThat(plain.path("lastError").asString()).contains("user-namespace remapping");
        assertThat(userns.path("healthy").asBoolean()).isTrue();
        assertThat(userns.path("usernsRemap").asBoolean()).isTrue();
        assertThat(userns.path("capacity").asInt()).isEqualTo(2);
        // A user-namespaced dockerd 20.10: too old for BuildKit builds, refused although its userns is on.
        JsonNode old = find(hosts, "old-1");
        assertThat(old.path("healthy").asBoolean()).isFalse();
        assertThat(old.path("usernsRemap").asBoolean()).isTrue();
        assertThat(old.path("lastError").asString()).contains("dockerd 20.10")
                .contains("older than dockerd 26.0 (Engine API 1.45)");

        // The plain host has twice the capacity, yet no build ever ran there.
        String token = builder("payments");
        for (int i = 0; i < 3; i++) {
            String id = read(submit(token, "image=payments/spread&tag=" + i, Tars.tar()
                    .file("Dockerfile", "FROM " + registryAddress() + "/base/busybox\nUSER 65534\n").bytes()))
                    .path("id").asString();
            awaitFinal(token, id, Duration.ofMinutes(2));
        }
        List<String> usedHosts = jdbc.queryForList("select distinct host from build where host is not null",
                String.class);
        assertThat(usedHosts).containsExactly("userns-1");
        assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'host.health-changed'"
                + " and target = 'host/plain-1' and outcome = 'FAILED'", Long.class)).isGreaterThanOrEqualTo(1);
    }

    @Test
    void policyRejectionIs422WithFindingsAndARejectedRecord() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("ARG BASE=docker.io/library/alpine:3.20\nFROM ${BASE}\nUSER root\n");

        Response r = submit(token, "image=payments/rejected&tag=1", context);

        JsonNode problem = problem(r, 422);
        String id = problem.path("buildId").asString();
        assertThat(problem.path("findings").findValuesAsString("rule"))
                .contains("unapproved-image", "final-user-root");
        JsonNode build = read(get(token, "/api/v1/builds/" + id));
        assertThat(build.path("status").asString()).isEqualTo("REJECTED");
        assertThat(build.path("findings").size()).isEqualTo(problem.path("findings").size());
        assertThat(build.path("finishedAt").isNull()).isFalse();
        assertThat(auditCount("build.rejected", "build/" + id)).isEqualTo(1);
        assertThat(get(token, "/api/v1/builds/" + id + "/logs").body()).contains("unapproved-image");
    }

    @Test
    void cancelStopsALongRunningStepOnItsHost() {
        String token = builder("payments");
        // A sleep of its own length, to find this step's process among the machine's (BuildKit's step processes
        // are not containers of the Engine API: they are looked for as processes).
        String sleep = "sleep " + (600_000 + (int) (System.nanoTime() % 100_000));
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo started-long-step && " + sleep + "\nUSER 65534\n");
        String id = read(submit(token, "image=payments/slow&tag=1&noCache=true", context)).path("id").asString();
        eventually("the long step starting", Duration.ofMinutes(1),
                () -> get(token, "/api/v1/builds/" + id + "/logs").body().contains("started-long-step"));
        eventually("the step's process running", Duration.ofSeconds(20), () -> running(sleep));

        Response cancel = send(request(token, "/api/v1/builds/" + id + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody()));

        assertThat(cancel.status()).as(cancel.body()).isEqualTo(202);
        JsonNode done = awaitFinal(token, id, Duration.ofSeconds(30));
        assertThat(done.path("status").asString()).isEqualTo("CANCELLED");
        // The step is gone from the daemon, not left sleeping.
        eventually("the step's process going away", Duration.ofSeconds(10), () -> !running(sleep));
        assertThat(auditCount("build.cancel-requested", "build/" + id)).isEqualTo(1);
        assertThat(auditCount("build.cancelled", "build/" + id)).isEqualTo(1);

        Response again = send(request(token, "/api/v1/builds/" + id + "/cancel")
                .POST(HttpRequest.BodyPublishers.noBody()));
        problem(again, 409);
    }

    private static boolean running(String command) {
        return java.util.Arrays.stream(run("ps", "-eo", "args").split("\n")).anyMatch(l -> l.strip().equals(command));
    }

    @Test
    void aModernSyntaxDockerfileBuildsThroughBuildKitAndIsPushed() {
        String token = builder("payments");
        String base = registryAddress() + "/base/busybox";
        byte[] context = Tars.tar().file("Dockerfile", "FROM " + base + " AS build\n"
                + "RUN <<EOT\necho built-by-heredoc > /x\necho heredoc-ran\nEOT\n"
                + "FROM " + base + "\n"
                + "COPY --from=build --chmod=0644 /x /x\n"
                + "COPY --link hello.txt /hello.txt\n"
                + "RUN cat /x /hello.txt\n"
                + "USER 65534\n").file("hello.txt", "hello-linked\n").bytes();
        Response submitted = submit(token, "image=payments/modern&tag=1&noCache=true", context);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String id = read(submitted).path("id").asString();

        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        String log = get(token, "/api/v1/builds/" + id + "/logs").body();
        assertThat(done.path("status").asString()).as(log).isEqualTo("SUCCEEDED");
        // The plain-progress form of BuildKit's trace, as step output.
        assertThat(log).containsPattern("(?m)^\\| #\\d+ \\[build 2/2\\] RUN <<EOT")
                .containsPattern("(?m)^\\| #\\d+ heredoc-ran$")
                .containsPattern("(?m)^\\| #\\d+ built-by-heredoc$")
                .containsPattern("(?m)^\\| #\\d+ hello-linked$")
                .containsPattern("(?m)^\\| #\\d+ DONE \\d+\\.\\ds$");
        assertThat(done.path("imageRef").asString()).contains("/payments/modern@sha256:");
    }

    /**
     * A COPY --from (and a mount's from=) whose variable names a stage of the file copies from that stage: the
     * daemon's BuildKit does not substitute there (it read "$S" as an image, "failed to parse stage name", and the
     * build failed on every host; a mount's from=$S it refuses), so the gateway writes the stage the policy resolved. The global ARG reaches the stage through its ARG line.
     */
    @Test
    void aCopyFromAVariableNamingAStageCopiesFromThatStage() {
        String token = builder("payments");
        String base = registryAddress() + "/base/busybox";
        byte[] context = Tars.dockerfile("ARG S=build\n"
                + "FROM " + base + " AS build\n"
                + "RUN echo copied-from-stage > /x\n"
                + "FROM " + base + "\n"
                + "ARG S\n"
                + "COPY --from=$S /x /y\n"
                + "RUN --mount=type=bind,from=$S,target=/m cp /m/x /z\n"
                + "USER 65534\n");
        Response submitted = submit(token, "image=payments/stage-var&tag=1&noCache=true", context);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String id = read(submitted).path("id").asString();

        JsonNode done = awaitSucceeded(token, id, Duration.ofMinutes(3));

        assertThat(fileIn("payments/stage-var", done.path("imageDigest").asString(), "y"))
                .isEqualTo("copied-from-stage");
        assertThat(fileIn("payments/stage-var", done.path("imageDigest").asString(), "z"))
                .as("and the mount's from=$S mounted it").isEqualTo("copied-from-stage");
    }

    @Test
    void followingTheLogStreamsUntilTheBuildEnds() {
        String token = builder("payments");
        byte[] context = Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\n"
                + "RUN echo first && sleep 2 && echo second\nUSER 65534\n");
        String id = read(submit(token, "image=payments/follow&tag=1&noCache=true", context)).path("id").asString();

        Response log = get(token, "/api/v1/builds/" + id + "/logs?follow=true");

        assertThat(log.status()).isEqualTo(200);
        assertThat(log.header("Content-Type")).startsWith("text/plain");
        assertThat(log.body()).contains("first").contains("second").contains("Succeeded: ");
        assertThat(read(get(token, "/api/v1/builds/" + id)).path("status").asString()).isEqualTo("SUCCEEDED");
    }

    @Test
    void listsBuildsNewestFirstWithFiltersAndCursor() {
        String token = builder("listing");
        byte[] context = Tars.dockerfile("FROM docker.io/library/alpine\n");
        for (int i = 0; i < 3; i++) {
            submit(token, "image=listing/app&tag=" + i, context);
        }

        JsonNode first = read(get(token, "/api/v1/builds?image=listing/app&limit=2"));
        JsonNode second = read(get(token, "/api/v1/builds?image=listing/app&limit=2&cursor="
                + first.path("nextCursor").asString()));

        assertThat(first.path("items").findValuesAsString("tag")).containsExactly("2", "1");
        assertThat(second.path("items").findValuesAsString("tag")).containsExactly("0");
        assertThat(second.path("nextCursor").isNull()).isTrue();
        // API.md writes the filters as ?image=&team=&status=&requestedBy=: empty ones filter nothing.
        assertThat(read(get(token, "/api/v1/builds?image=listing/app&team=&status=&requestedBy=&limit=2"))
                .path("items").findValuesAsString("tag")).containsExactly("2", "1");
        // Another team's builder sees none of them.
        JsonNode other = read(get(builder("elsewhere"), "/api/v1/builds?image=listing/app"));
        assertThat(other.path("items").size()).isZero();
        problem(get(builder("elsewhere"), "/api/v1/builds/" + first.path("items").get(0).path("id").asString()), 403);
    }

    private static JsonNode find(JsonNode hosts, String name) {
        for (JsonNode host : hosts) {
            if (host.path("name").asString().equals(name)) {
                return host;
            }
        }
        throw new AssertionError("no host " + name + " in " + hosts);
    }
}
