package io.buildgateway.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * The deployment list on the real environment: which deployments are stale and why (decided by the database), and
 * its pages. Images are written straight to the inventory's tables as a build, its scan and the inventory would
 * write them (a build each would take minutes and prove nothing more here); deployments go through the API. Each test
 * uses an environment name of its own, so other tests' deployments never show.
 */
class DeploymentsIT extends IntegrationTest {

    private static final String RUN = Long.toString(System.nanoTime() % 1_000_000_000L, 36);
    private static final Pattern NEXT = Pattern.compile("<([^>]+)>; rel=\"next\"");

    @Autowired
    OwnerNotices owners;

    @Test
    void eachStaleReasonIsListedAndADeploymentWithoutOneIsNot() {
        String env = "st-" + RUN;
        String team = "dst" + RUN;
        String base = "registry.invalid/base/stale-" + RUN + ":1";
        String oldBase = digest("old base " + RUN);
        String newBase = digest("new base " + RUN);
        jdbc.update("insert into base_image (ref, digest, previous_digest, changed_at, checked_at) values (?, ?, ?, ?, ?)",
                base, newBase, oldBase, Timestamp.from(Instant.now()), Timestamp.from(Instant.now()));
        String current = image(team, team + "/current", "1", base, newBase);
        String superseded = image(team, team + "/moved", "1", base, newBase);
        String newer = image(team, team + "/moved", "1", base, newBase); // the tag moves on to this one
        String onOldBase = image(team, team + "/on-old-base", "1", base, oldBase);
        String fixable = image(team, team + "/fixable", "1", base, newBase);
        vulnerability(fixable, "DSA-" + RUN + "-2", "2.0-1");
        vulnerability(fixable, "DSA-" + RUN + "-1", "1.1-1");
        vulnerability(fixable, "DSA-" + RUN + "-1", "1.1-1", "libfoo2");
        vulnerability(fixable, "DSA-" + RUN + "-3", null); // no fix yet: not a reason
        vulnerability(current, "DSA-" + RUN + "-4", null);
        String deployer = token(Set.of("DEPLOYER"), Set.of());
        deploy(deployer, env, "current", team + "/current", current);
        deploy(deployer, env, "moved", team + "/moved", superseded);
        deploy(deployer, env, "on-old-base", team + "/on-old-base", onOldBase);
        deploy(deployer, env, "fixable", team + "/fixable", fixable);
        String foreign = digest("foreign " + RUN);
        deploy(deployer, env, "zz-foreign", "docker.io/library/nginx", foreign);

        JsonNode stale = items(get(deployer, "/api/v1/deployments?environment=" + env + "&stale=true"));
        // Unknown provenance first, then in workload order; the deployment with no reason is left out.
        assertThat(workloads(stale)).containsExactly("zz-foreign", "fixable", "moved", "on-old-base");
        assertThat(stale.get(0).path("provenance").asString()).isEqualTo("unknown");
        assertThat(reason(stale.get(0), "unknown-provenance"))
                .isEqualTo("the image was not built by the gateway: no policy, verification or scan record");
        assertThat(reason(stale.get(1), "fixable-vulnerability"))
                .isEqualTo("affected by advisories with a fixed version: DSA-" + RUN + "-1,DSA-" + RUN + "-2");
        assertThat(reason(stale.get(2), "newer-build")).isEqualTo("the tag now points to a newer build: " + team
                + "/moved:1=" + newer);
        assertThat(reason(stale.get(3), "base-changed"))
                .isEqualTo("built on " + base + " at " + oldBase + "; the tag now points to " + newBase);
        for (JsonNode d : stale) {
            assertThat(d.path("stale").asBoolean()).isTrue();
            assertThat(d.path("reasons").size()).as(d.toString()).isEqualTo(1);
        }
        assertThat(stale.get(2).path("digest").asString()).isEqualTo(superseded);
        assertThat(stale.get(2).path("team").asString()).isEqualTo(team);

        // Without stale=true the same list has every deployment, the one without a reason included.
        JsonNode all = items(get(deployer, "/api/v1/deployments?environment=" + env));
        assertThat(workloads(all)).containsExactly("zz-foreign", "current", "fixable", "moved", "on-old-base");
        assertThat(all.get(1).path("stale").asBoolean()).isFalse();
        assertThat(all.get(1).path("reasons").size()).isZero();

        // A builder sees its team's deployments (an image of unknown provenance has no team).
        assertThat(workloads(items(get(builder(team), "/api/v1/deployments?environment=" + env + "&stale=true"))))
                .containsExactly("fixable", "moved", "on-old-base");
        assertThat(items(get(builder("other" + RUN), "/api/v1/deployments?environment=" + env)).size()).isZero();

        // The owners' daily digest has the same list, without unknown provenance (no owner), across environments.
        assertThat(owners.staleByTeam().get(team)).extracting(d -> d.get("workload"))
                .containsExactly("fixable", "moved", "on-old-base");
        assertThat(owners.staleByTeam().get(team).get(1).get("reasons").toString()).contains("newer-build");

        // Redeploying the workload on the tag's new image ends its staleness.
        deploy(deployer, env, "moved", team + "/moved", newer);
        assertThat(workloads(items(get(deployer, "/api/v1/deployments?environment=" + env + "&stale=true"))))
                .containsExactly("zz-foreign", "fixable", "on-old-base");
    }

    @Test
    void pagesFollowTheListOrderWithoutGapsOrRepeats() {
        String env = "pg-" + RUN;
        String team = "dpg" + RUN;
        String deployer = token(Set.of("DEPLOYER"), Set.of());
        for (int i = 0; i < 3; i++) {
            deploy(deployer, env, "foreign-" + i, "docker.io/library/app", digest("page foreign " + i + RUN));
        }
        for (int i = 0; i < 4; i++) {
            deploy(deployer, env, "app-" + i, team + "/app", image(team, team + "/app-" + i, "1", null, null));
        }
        JsonNode whole = items(get(deployer, "/api/v1/deployments?environment=" + env + "&limit=500"));
        assertThat(workloads(whole)).containsExactly("foreign-0", "foreign-1", "foreign-2", "app-0", "app-1", "app-2",
                "app-3");

        // Pages of 2, by the links: the same deployments in the same order; the page that crosses from unknown
        // provenance to the gateway's images included.
        List<String> paged = new ArrayList<>();
        String path = "/api/v1/deployments?environment=" + env + "&limit=2";
        int pages = 0;
        while (path != null) {
            Response page = get(deployer, path);
            assertThat(page.status()).as(page.body()).isEqualTo(200);
            JsonNode items = items(page);
            assertThat(items.size()).isBetween(1, 2);
            paged.addAll(workloads(items));
            path = next(page);
            if (path != null) {
                assertThat(read(page).path("nextCursor").asString())
                        .isEqualTo(items.get(items.size() - 1).path("id").asString());
                assertThat(path).contains("cursor=" + items.get(items.size() - 1).path("id").asString())
                        .contains("environment=" + env).contains("limit=2");
            }
            pages++;
        }
        assertThat(paged).isEqualTo(workloads(whole));
        assertThat(pages).isEqualTo(4);
        // A full last page has no link when nothing follows it.
        assertThat(next(get(deployer, "/api/v1/deployments?environment=" + env + "&limit=7"))).isNull();
        // The cursor is the last item's id, also when given by hand; stale=true pages the same way.
        String afterThird = whole.get(2).path("id").asString();
        assertThat(workloads(items(get(deployer, "/api/v1/deployments?environment=" + env + "&stale=true&after="
                + afterThird)))).containsExactly();
        assertThat(workloads(items(get(deployer, "/api/v1/deployments?environment=" + env + "&after=" + afterThird
                + "&limit=3")))).containsExactly("app-0", "app-1", "app-2");

        problem(get(deployer, "/api/v1/deployments?limit=0"), 400);
        problem(get(deployer, "/api/v1/deployments?limit=501"), 400);
        problem(get(deployer, "/api/v1/deployments?limit=ten"), 400);
        problem(get(deployer, "/api/v1/deployments?after=not-an-id"), 400);
        problem(get(deployer, "/api/v1/deployments?cursor=not-an-id"), 400);
        problem(get(deployer, "/api/v1/deployments?cursor=" + afterThird + "&after=" + UUID.randomUUID()), 400);
        problem(get(deployer, "/api/v1/deployments?after=" + UUID.randomUUID()), 400);
        problem(get(deployer, "/api/v1/deployments?digest=sha256:abc"), 400);
    }

    @Test
    void aPageIsAHundredUnlessAskedOtherwiseAndAnImageShowsAPageOfItsDeployments() {
        // (101 deployments of one image, written directly: 101 requests would only be slower; and one stale one.)
        String env = "big-" + RUN;
        String team = "dbg" + RUN;
        String image = image(team, team + "/wide", "1", null, null);
        for (int i = 0; i < 101; i++) {
            jdbc.update("""
                    insert into deployment (id, environment, cluster, namespace, workload, image_ref, digest,
                        deployed_at, deployed_by)
                    values (?, ?, 'c1', 'apps', ?, ?, ?, now(), 'it')""", UUID.randomUUID(), env,
                    "w-%03d".formatted(i), "127.0.0.1:5011/" + team + "/wide@" + image, image);
        }
        String fixable = image(team, team + "/fixable", "1", null, null);
        vulnerability(fixable, "DSA-" + RUN + "-9", "9.9-1");
        String deployer = token(Set.of("DEPLOYER"), Set.of());
        deploy(deployer, env, "w-101", team + "/fixable", fixable);
        String reader = token(Set.of("SECURITY"), Set.of());
        Response first = get(reader, "/api/v1/deployments?environment=" + env);
        assertThat(items(first).size()).isEqualTo(50);
        JsonNode second = items(get(reader, next(first)));
        assertThat(second.size()).isEqualTo(50);
        Response third = get(reader, "/api/v1/deployments?environment=" + env + "&cursor="
                + read(get(reader, next(first))).path("nextCursor").asString());
        assertThat(workloads(items(third))).containsExactly("w-100", "w-101");
        assertThat(read(third).path("nextCursor").isNull()).isTrue();
        assertThat(items(get(reader, "/api/v1/deployments?environment=" + env + "&limit=500")).size())
                .isEqualTo(102);
        assertThat(items(get(reader, "/api/v1/deployments?environment=" + env + "&limit=100")).size())
                .isEqualTo(100);
        // One stale deployment behind 101 that are not: the list reads on past chunks that keep nothing.
        Response stale = get(reader, "/api/v1/deployments?environment=" + env + "&stale=true&limit=1");
        assertThat(workloads(items(stale))).containsExactly("w-101");
        assertThat(next(stale)).isNull();

        JsonNode detail = read(get(reader, "/api/v1/images/" + image));
        assertThat(detail.path("image").path("deployments").asInt()).isEqualTo(101);
        assertThat(detail.path("deployments").size()).isEqualTo(100);
        String more = detail.path("deploymentsNext").asString();
        assertThat(more).startsWith("/api/v1/deployments?digest=" + image + "&cursor=");
        assertThat(workloads(items(get(reader, more)))).containsExactly("w-100");
        assertThat(read(get(reader, "/api/v1/images/" + image(team, team + "/idle", "1", null, null)))
                .path("deploymentsNext").isNull()).isTrue();
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /**
     * A pushed image as the gateway records it: a successful build, its scan, the inventory entry, and its tag (which
     * moves to this image when the repository and tag already had one).
     */
    private String image(String team, String repository, String tag, String baseRef, String baseDigest) {
        UUID build = UUID.randomUUID();
        String digest = digest("image " + build);
        String imageId = digest("config " + build);
        Timestamp now = Timestamp.from(Instant.now());
        jdbc.update("""
                insert into build (id, image, tag, team, status, requested_by, requested_at, finished_at,
                    context_digest, context_size, dockerfile, build_args, labels, image_digest, image_ref)
                values (?, ?, ?, ?, 'SUCCEEDED', 'it', ?, ?, ?, 1, 'Dockerfile', '{}', '{}', ?, ?)""",
                build, repository, tag, team, now, now, digest("context " + build), digest,
                "127.0.0.1:5011/" + repository + "@" + digest);
        jdbc.update("""
                insert into image_scan (build_id, image_id, image_digest, repository, tag, team, scanned_at, passed,
                    policy_digest, base_image, base_digest, base_layers, config, findings, sbom, compliance_status,
                    compliance_rules, timings)
                values (?, ?, ?, ?, ?, ?, ?, true, ?, ?, ?, 1, '{}', '[]', '{}', 'pass', '[]', '{}')""",
                build, imageId, digest, repository, tag, team, now, digest("policy"), baseRef, baseDigest);
        jdbc.update("""
                insert into image (digest, repository, team, build_id, image_id, base_ref, base_digest, first_seen,
                    provenance)
                values (?, ?, ?, ?, ?, ?, ?, ?, 'gateway')""",
                digest, repository, team, build, imageId, baseRef, baseDigest, now);
        jdbc.update("update image_tag set until = ? where repository = ? and tag = ? and until is null", now,
                repository, tag);
        jdbc.update("insert into image_tag (repository, tag, digest, since) values (?, ?, ?, ?)", repository, tag,
                digest, now);
        return digest;
    }

    private void vulnerability(String image, String advisory, String fixed) {
        vulnerability(image, advisory, fixed, "libfoo1");
    }

    private void vulnerability(String image, String advisory, String fixed, String pkg) {
        jdbc.update("""
                insert into image_vulnerability (build_id, advisory_id, aliases, ecosystem, package, installed, fixed,
                    severity, found_at)
                values ((select build_id from image where digest = ?), ?, '[]', 'Debian:12', ?, '1.0-1', ?, 'high',
                    now())""", image, advisory, pkg, fixed);
    }

    private void deploy(String token, String env, String workload, String repository, String digest) {
        Response r = postJson(token, "/api/v1/deployments", """
                {"environment":"%s","cluster":"c1","namespace":"apps","workload":"%s","image":"%s@%s"}"""
                .formatted(env, workload, repository.contains(".") ? repository : "127.0.0.1:5011/" + repository,
                        digest));
        assertThat(r.status()).as(r.body()).isEqualTo(201);
    }

    private static String reason(JsonNode deployment, String reason) {
        for (JsonNode r : deployment.path("reasons")) {
            if (r.path("reason").asString().equals(reason)) {
                return r.path("detail").asString();
            }
        }
        return null;
    }

    /** A page of GET /deployments: {@code { "items": [...], "nextCursor" }} as API.md's pagination has it. */
    private JsonNode items(Response page) {
        assertThat(page.status()).as(page.body()).isEqualTo(200);
        JsonNode body = read(page);
        assertThat(body.has("nextCursor")).as(page.body()).isTrue();
        return body.path("items");
    }

    private static List<String> workloads(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.forEach(d -> out.add(d.path("workload").asString()));
        return out;
    }

    /** The path of the next page from the Link header, or null. */
    private static String next(Response page) {
        String link = page.header("Link");
        if (link == null) {
            return null;
        }
        Matcher m = NEXT.matcher(link);
        assertThat(m.find()).as(link).isTrue();
        return m.group(1);
    }

    private static String digest(String seed) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(seed.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
