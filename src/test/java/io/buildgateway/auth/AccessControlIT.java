package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.RawHttp;
import io.buildgateway.support.Tars;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Tokens, roles, teams, 401 versus 403, and that every refusal is in the audit trail. */
class AccessControlIT extends IntegrationTest {

    @org.springframework.beans.factory.annotation.Autowired
    javax.sql.DataSource dataSource;

    /**
     * A builder lints for the images of its own teams: a lint applies the image's team's settings, waivers and
     * egress allowlist (docs/api.md: "submit builds and lint requests for images of its teams"). Before (a review's
     * finding, 2026-12-06) any builder could lint as any team.
     */
    @Test
    void aBuilderLintsForItsOwnTeamsImagesOnly() {
        String token = builder("lint-a");
        String dockerfile = "FROM " + registryAddress() + "/base/busybox\nUSER 1000\n";
        Response own = send(request(token, "/api/v1/lint?image=lint-a/app").header("Content-Type", "text/plain")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(dockerfile)));
        assertThat(own.status()).as(own.body()).isEqualTo(200);
        Response other = send(request(token, "/api/v1/lint?image=lint-b/app").header("Content-Type", "text/plain")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(dockerfile)));
        assertThat(problem(other, 403).path("detail").asString()).contains("lint-b");
        assertThat(jdbc.queryForObject("select count(*) from audit_event where request_id = ? and outcome ="
                + " 'DENIED'", Long.class, other.header("X-Request-Id"))).isOne();
        Response none = send(request(token, "/api/v1/lint").header("Content-Type", "text/plain")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(dockerfile)));
        assertThat(none.status()).as("no image: the global policy").isEqualTo(200);
    }

    /**
     * A team named like the quarantine repository (an ADMIN's mistake) cannot push there: refused at submission,
     * before anything is uploaded (it failed only once built before).
     */
    @Test
    void noBuildPushesUnderTheQuarantine() {
        String token = builder("gateway-quarantine");
        Response r = submit(token, "image=gateway-quarantine/" + java.util.UUID.randomUUID() + "&tag=1",
                io.buildgateway.support.Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nUSER 1000\n"));
        assertThat(problem(r, 403).path("detail").asString()).contains("quarantine");
        assertThat(jdbc.queryForObject("select count(*) from build where image like 'gateway-quarantine/%'",
                Long.class)).isZero();
    }

    /**
     * An advisory import's body (up to 64 MB) is read only for a caller who may import: the role is checked before the
     * body. Before (a review's finding, 2026-12-06) any token's body was parsed into a tree first, so a builder's
     * unreadable body was a 400 about the body, and a 64 MB one a replica's heap.
     */
    @Test
    void anAdvisoryBodyIsNotReadForACallerWhoMayNotImport() {
        Response r = postJson(builder("advisory-reader"), "/api/v1/advisories", "[{");
        problem(r, 403);
        Response allowed = postJson(token(java.util.Set.of("SECURITY"), java.util.Set.of()), "/api/v1/advisories",
                "[{");
        problem(allowed, 400);
    }

    /**
     * The metrics scrape token reads the metrics and nothing else (docs/operations.md). Before (a review's finding,
     * 2026-12-06) it authenticated a principal with no role, which every "any authenticated caller" endpoint let in:
     * the policy's source with every team's settings, the base images, the signing key.
     */
    @Test
    void theScrapeTokenReadsTheMetricsAndNothingElse() {
        Response metrics = get(SCRAPE_SECRET, "/actuator/prometheus");
        assertThat(metrics.status()).as(metrics.body()).isEqualTo(200);
        for (String path : java.util.List.of("/api/v1/policy", "/api/v1/base-images", "/api/v1/signing-key",
                "/api/v1/builds")) {
            Response r = get(SCRAPE_SECRET, path);
            JsonNode p = problem(r, 401);
            assertThat(p.path("detail").asString()).as(path).contains("/actuator/prometheus only");
            assertThat(jdbc.queryForObject("select count(*) from audit_event where request_id = ? and action ="
                    + " 'http.refused' and outcome = 'DENIED'", Long.class, r.header("X-Request-Id"))).isOne();
        }
    }

    /**
     * A revocation committed while a rotation of the same token waits for its row is not undone by it: the rotation
     * sees the token revoked (409) and it stays revoked. Before (a review's finding, 2026-12-06), the rotation read
     * the row unlocked, then wrote it back whole after the revocation committed: revoked_at null again, the trail
     * saying token.revoked, and the rotating caller holding a new working secret.
     */
    @Test
    void aRevocationCommittedDuringARotationIsNotUndoneByIt() throws Exception {
        JsonNode issued = read(postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"race\",\"roles\":[\"BUILDER\"],"
                + "\"teams\":[\"race\"]}"));
        String id = issued.path("id").asString();
        try (java.sql.Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (java.sql.PreparedStatement lock = c.prepareStatement("select 1 from api_token where id = ?::uuid"
                    + " for update")) {
                lock.setString(1, id);
                lock.executeQuery().close();
            }
            java.util.concurrent.CompletableFuture<Response> rotation = java.util.concurrent.CompletableFuture
                    .supplyAsync(() -> postJson(ADMIN_SECRET, "/api/v1/tokens/" + id + "/rotate", "{}"));
            sleep(1_500);
            assertThat(rotation).as("the rotation waits for the row").isNotDone();
            try (java.sql.PreparedStatement revoke = c.prepareStatement("update api_token set revoked_at = now()"
                    + " where id = ?::uuid")) {
                revoke.setString(1, id);
                assertThat(revoke.executeUpdate()).isOne();
            }
            c.commit();
            Response rotated = rotation.get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(rotated.status()).as(rotated.body()).isEqualTo(409);
            assertThat(rotated.body()).contains("revoked");
        }
        assertThat(jdbc.queryForObject("select revoked_at is not null from api_token where id = ?::uuid",
                Boolean.class, id)).as("still revoked").isTrue();
    }

    @Test
    void unauthenticatedCallsGet401ProblemJsonAndAreAudited() {
        Response r = get(null, "/api/v1/builds");

        JsonNode p = problem(r, 401);
        assertThat(r.header("WWW-Authenticate")).startsWith("Bearer");
        String requestId = r.header("X-Request-Id");
        assertThat(requestId).isNotBlank().isEqualTo(p.path("requestId").asString());
        Map<String, Object> row = jdbc.queryForMap("select * from audit_event where request_id = ?", requestId);
        assertThat(row.get("outcome")).isEqualTo("DENIED");
        assertThat(row.get("actor")).isEqualTo("anonymous");
        assertThat(row.get("action")).isEqualTo("http.refused");
        assertThat(row.get("target")).isEqualTo("/api/v1/builds");
    }

    /**
     * A token is the actor of its events by name: before (a review's finding, 2026-12-07) an ADMIN could issue a token
     * named like the gateway's own jobs or another kind of caller and act as them in the trail.
     */
    @Test
    void tokenNamesThatOtherCallersUseAreRefused() {
        long before = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        for (String name : new String[] {"system", "anonymous", "bootstrap-admin", "gateway", " Gateway ", "warm-up",
                "oidc:alice", "mtls:ci-payments", "OIDC:bob", "token:ci"}) {
            Response r = postJson(ADMIN_SECRET, "/api/v1/tokens",
                    json.writeValueAsString(Map.of("name", name, "roles", Set.of("ADMIN"))));
            JsonNode p = problem(r, 400);
            assertThat(p.path("detail").asString()).as(name).contains("reserved");
            assertThat(p.path("errors").get(0).path("field").asString()).isEqualTo("name");
        }
        // Names that only look reserved: a zero-width or no-break space, a Cyrillic letter, a full-width colon.
        for (String name : new String[] {"system\u200B", "\u00A0gateway", "\u0455ystem", "oidc\uFF1Aalice"}) {
            Response r = postJson(ADMIN_SECRET, "/api/v1/tokens",
                    json.writeValueAsString(Map.of("name", name, "roles", Set.of("ADMIN"))));
            JsonNode p = problem(r, 400);
            assertThat(p.path("detail").asString()).as(name).contains("printable ASCII");
        }
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and action = 'token.issued'",
                Long.class, before)).as("no token issued").isZero();
        assertThat(jdbc.queryForObject("select count(*) from api_token where lower(name) in ('system', 'gateway',"
                + " 'anonymous', 'oidc:alice', 'mtls:ci-payments') and created_by <> 'system'", Long.class)).isZero();
    }

    /** Two tokens of one name are told apart in the trail: every event of a token's request names the token's id. */
    @Test
    void everyEventOfATokensRequestCarriesTheTokensId() {
        String name = "twin-" + UUID.randomUUID().toString().substring(0, 8);
        JsonNode first = read(postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"" + name + "\",\"roles\":[\"ADMIN\"]}"));
        JsonNode second = read(postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"" + name + "\",\"roles\":[\"ADMIN\"]}"));
        for (JsonNode twin : new JsonNode[] {first, second}) {
            String id = twin.path("id").asString();
            // a state change (the token issues a team) and a refusal (a bad body), both as this token
            Response made = postJson(twin.path("token").asString(), "/api/v1/teams",
                    "{\"name\":\"tw" + UUID.randomUUID().toString().substring(0, 8) + "\"}");
            assertThat(made.status()).as(made.body()).isEqualTo(201);
            Response refused = postJson(twin.path("token").asString(), "/api/v1/teams", "{\"name\":\"BAD NAME\"}");
            problem(refused, 400);
            for (Response r : new Response[] {made, refused}) {
                Map<String, Object> row = jdbc.queryForMap(
                        "select actor, details from audit_event where request_id = ?", r.header("X-Request-Id"));
                assertThat(row.get("actor")).isEqualTo(name);
                assertThat(json.readTree((String) row.get("details")).path("actorTokenId").asString())
                        .as("the event names the token that acted").isEqualTo(id);
            }
        }
        Response anonymous = get(null, "/api/v1/builds");
        assertThat(jdbc.queryForObject("select details from audit_event where request_id = ?", String.class,
                anonymous.header("X-Request-Id"))).doesNotContain("actorTokenId");
    }

    /** A 401 for a revoked token names the token (its id and name), so a leaked revoked token's use is traceable. */
    @Test
    void aRevokedOrExpiredTokensRefusalNamesTheToken() {
        JsonNode token = read(postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"leaked-ci\",\"roles\":[\"AUDITOR\"],\"teams\":[]}"));
        String secret = token.path("token").asString();
        String id = token.path("id").asString();
        assertThat(send(request(ADMIN_SECRET, "/api/v1/tokens/" + id).DELETE()).status()).isEqualTo(204);

        Response refused = get(secret, "/api/v1/builds");

        problem(refused, 401);
        Map<String, Object> row = jdbc.queryForMap("select actor, outcome, details from audit_event"
                + " where request_id = ?", refused.header("X-Request-Id"));
        assertThat(row.get("actor")).as("nobody authenticated").isEqualTo("anonymous");
        assertThat(row.get("outcome")).isEqualTo("DENIED");
        JsonNode details = json.readTree((String) row.get("details"));
        assertThat(details.path("presentedTokenId").asString()).isEqualTo(id);
        assertThat(details.path("presentedTokenName").asString()).isEqualTo("leaked-ci");
        assertThat(details.path("detail").asString()).contains("revoked");
        Response unknown = get("bgw_not-a-real-token", "/api/v1/builds");
        assertThat(jdbc.queryForObject("select details from audit_event where request_id = ?", String.class,
                unknown.header("X-Request-Id"))).doesNotContain("presentedToken");
    }

    /**
     * A request the security firewall refuses is a 400 problem audited with the path asked for and why, never its
     * query string. Before (a review's finding, 2026-12-07) the event named "/error" and said only "Bad Request".
     */
    @Test
    void aRequestTheFirewallRefusesIsAuditedWithItsPathAndWhy() {
        long before = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        Response r = get(ADMIN_SECRET, "/api/v1/builds;x=1?hidden=q-" + before);

        JsonNode p = problem(r, 400);
        assertThat(p.path("type").asString()).endsWith("request-rejected");
        assertThat(p.path("detail").asString()).contains("blocked sequence");
        Map<String, Object> row = jdbc.queryForMap("select target, outcome, details from audit_event where seq > ?"
                + " and action = 'http.refused' and target like '/api/v1/builds;%'", before);
        assertThat(row.get("target")).isEqualTo("/api/v1/builds;x=1");
        assertThat(row.get("outcome")).isEqualTo("REJECTED");
        assertThat((String) row.get("details")).contains("blocked sequence").contains("request-rejected")
                .doesNotContain("hidden").doesNotContain("q-" + before);
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and target = '/error'",
                Long.class, before)).isZero();
    }

    @Test
    void unknownMalformedAndQueryStringTokensAre401() {
        problem(get("bgw_not-a-real-token", "/api/v1/builds"), 401);
        problem(send(request(null, "/api/v1/builds").header("Authorization", "Basic Zm9vOmJhcg==").GET()), 401);
        JsonNode q = problem(get(null, "/api/v1/builds?access_token=" + ADMIN_SECRET), 401);
        assertThat(q.path("detail").asString()).contains("query strings");
    }

    @Test
    void revocationTakesEffectOnTheNextRequest() {
        Response created = postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"short-lived\",\"roles\":[\"AUDITOR\"],\"teams\":[]}");
        JsonNode token = read(created);
        String secret = token.path("token").asString();
        assertThat(get(secret, "/api/v1/builds").status()).isEqualTo(200);

        Response revoked = send(request(ADMIN_SECRET, "/api/v1/tokens/" + token.path("id").asString()).DELETE());

        assertThat(revoked.status()).isEqualTo(204);
        JsonNode p = problem(get(secret, "/api/v1/builds"), 401);
        assertThat(p.path("detail").asString()).contains("revoked");
        assertThat(auditCount("token.revoked", "token/" + token.path("id").asString())).isEqualTo(1);
    }

    /**
     * A revocation made by another replica reaches this one through the database only: this replica keeps a token's
     * row for {@code gateway.auth.token-check-ttl} (2 s) after reading it, so the revoked token works here at most
     * that long (the suite's replica is the only one, so the other replica's revocation is its write to the row).
     */
    @Test
    void aRevocationOnAnotherReplicaTakesEffectHereWithinTheTokenCheckTtl() {
        JsonNode token = read(postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"revoked-elsewhere\",\"roles\":[\"AUDITOR\"],\"teams\":[]}"));
        String secret = token.path("token").asString();
        String id = token.path("id").asString();
        assertThat(get(secret, "/api/v1/builds").status()).isEqualTo(200);
        long revokedAt = System.nanoTime();

        jdbc.update("update api_token set revoked_at = now() where id = ?::uuid", id);

        eventually("the revoked token refused", Duration.ofSeconds(10),
                () -> get(secret, "/api/v1/builds").status() == 401);
        long tookMillis = (System.nanoTime() - revokedAt) / 1_000_000;
        assertThat(tookMillis).as("the row is kept 2 s at most (the rest: requests on a busy machine)")
                .isLessThan(5_000);
        Response refused = get(secret, "/api/v1/builds");
        assertThat(problem(refused, 401).path("detail").asString()).contains("revoked");
        assertThat(jdbc.queryForObject("select outcome from audit_event where request_id = ?", String.class,
                refused.header("X-Request-Id"))).isEqualTo("DENIED");
    }

    @Test
    void expiryTakesEffectOnTheNextRequest() {
        String expiresAt = Instant.now().plusSeconds(2).toString();
        String secret = read(postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"expiring\",\"roles\":[\"AUDITOR\"],"
                + "\"expiresAt\":\"" + expiresAt + "\"}")).path("token").asString();
        assertThat(get(secret, "/api/v1/builds").status()).isEqualTo(200);

        sleep(2500);

        assertThat(problem(get(secret, "/api/v1/builds"), 401).path("detail").asString()).contains("expired");
    }

    @Test
    void tokenSecretIsShownOnceAndStoredOnlyAsAHash() {
        Response created = postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"ci-shown-once\",\"roles\":[\"BUILDER\"],\"teams\":[\"payments\"]}");

        assertThat(created.status()).isEqualTo(201);
        JsonNode token = read(created);
        String secret = token.path("token").asString();
        assertThat(secret).startsWith("bgw_").hasSizeGreaterThanOrEqualTo(40);
        assertThat(token.path("roles").get(0).asString()).isEqualTo("BUILDER");
        assertThat(created.header("Location")).endsWith(token.path("id").asString());
        String list = get(ADMIN_SECRET, "/api/v1/tokens").body();
        assertThat(list).contains("ci-shown-once").doesNotContain(secret);
        String stored = jdbc.queryForObject("select secret_hash from api_token where id = ?::uuid", String.class,
                token.path("id").asString());
        assertThat(stored).hasSize(64).isNotEqualTo(secret);
        String trail = String.join("\n", jdbc.queryForList("select details from audit_event", String.class));
        assertThat(trail).doesNotContain(secret).doesNotContain(ADMIN_SECRET);
    }

    @Test
    void builderCannotBuildForAnotherTeamAndNothingIsRecorded() {
        String token = builder("payments");
        long before = jdbc.queryForObject("select count(*) from build", Long.class);

        Response r = submit(token, "image=lending/app&tag=1",
                Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nUSER 1000\n"));

        JsonNode p = problem(r, 403);
        assertThat(p.path("detail").asString()).contains("lending");
        assertThat(jdbc.queryForObject("select count(*) from build", Long.class)).isEqualTo(before);
        Map<String, Object> row = jdbc.queryForMap("select * from audit_event where request_id = ?",
                r.header("X-Request-Id"));
        assertThat(row.get("outcome")).isEqualTo("DENIED");
        assertThat(row.get("target")).isEqualTo("/api/v1/builds");
    }

    @Test
    void noTeamCanPushOverAnApprovedBaseImage() {
        // A token for a team named "base" would otherwise build base/debian:12 and push it over the approved base.
        String token = builder("base");
        long before = jdbc.queryForObject("select count(*) from build", Long.class);
        JsonNode p = problem(submit(token, "image=base/debian&tag=12",
                Tars.dockerfile("FROM " + registryAddress() + "/base/busybox\nUSER 1000\n")), 403);
        assertThat(p.path("detail").asString()).contains("approved base image");
        assertThat(jdbc.queryForObject("select count(*) from build", Long.class)).isEqualTo(before);
    }

    @Test
    void rolesAreCheckedOnEveryEndpoint() {
        String builderToken = builder("payments");
        String auditor = token(Set.of("AUDITOR"), Set.of());

        problem(get(builderToken, "/api/v1/tokens"), 403);
        problem(postJson(builderToken, "/api/v1/teams", "{\"name\":\"mine\"}"), 403);
        problem(get(builderToken, "/api/v1/hosts"), 403);
        problem(postJson(builderToken, "/api/v1/advisories", "{}"), 403);
        problem(postJson(token(Set.of("DEPLOYER"), Set.of()), "/api/v1/advisories", "{}"), 403);
        // An AUDITOR of the team itself: only the missing BUILDER role can refuse it (without the team, the team
        // check would refuse it whatever the roles).
        String teamAuditor = token(Set.of("AUDITOR"), Set.of("payments"));
        JsonNode refused = problem(submit(teamAuditor, "image=payments/x&tag=1",
                Tars.dockerfile("FROM scratch\n")), 403);
        assertThat(refused.path("detail").asString()).as("refused for the role, not the team")
                .containsAnyOf("roles do not allow POST /api/v1/builds", "building needs the BUILDER role")
                .doesNotContain("may build for teams");
        assertThat(get(auditor, "/api/v1/builds").status()).isEqualTo(200);
        problem(get(builderToken, "/actuator/prometheus"), 403);
    }

    @Test
    void teamsAreCreatedAndListedByAdmins() {
        Response created = postJson(ADMIN_SECRET, "/api/v1/teams", "{\"name\":\"risk\",\"description\":\"Risk\"}");

        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(get(ADMIN_SECRET, "/api/v1/teams").body()).contains("\"risk\"");
        problem(postJson(ADMIN_SECRET, "/api/v1/teams", "{\"name\":\"risk\"}"), 409);
        problem(postJson(ADMIN_SECRET, "/api/v1/teams", "{\"name\":\"Not Valid\"}"), 400);
        assertThat(auditCount("team.created", "team/risk")).isEqualTo(1);
    }

    /**
     * API.md's list convention ({"items", "nextCursor"}, limit and cursor) holds for tokens, teams and base images
     * too (they were bare arrays until 2026-12-07), and its roles table's reads: an AUDITOR reads all but token
     * secrets (tokens, teams, hosts), SECURITY all but tokens.
     */
    @Test
    void tokensTeamsAndBaseImagesAreListedInPagesToTheRolesApiMdNames() {
        String run = Long.toString(System.nanoTime() % 1_000_000_000L, 36);
        for (String t : java.util.List.of("pg-a-" + run, "pg-b-" + run, "pg-c-" + run)) {
            assertThat(postJson(ADMIN_SECRET, "/api/v1/teams", "{\"name\":\"" + t + "\"}").status()).isEqualTo(201);
        }
        java.util.List<String> names = new java.util.ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = read(get(ADMIN_SECRET, "/api/v1/teams?limit=2" + (cursor == null ? "" : "&cursor="
                    + cursor)));
            assertThat(page.path("items").size()).isBetween(1, 2);
            page.path("items").forEach(t -> names.add(t.path("name").asString()));
            cursor = page.path("nextCursor").isNull() ? null : page.path("nextCursor").asString();
            pages++;
        } while (cursor != null && pages < 1000);
        assertThat(names).doesNotHaveDuplicates().contains("pg-a-" + run, "pg-b-" + run, "pg-c-" + run);
        assertThat(pages).isGreaterThanOrEqualTo(2);
        problem(get(ADMIN_SECRET, "/api/v1/teams?limit=0"), 400);
        problem(get(ADMIN_SECRET, "/api/v1/teams?limit=501"), 400);
        problem(get(ADMIN_SECRET, "/api/v1/tokens?cursor=bm90LWEtdG9rZW4"), 400);

        String auditor = token(Set.of("AUDITOR"), Set.of());
        JsonNode tokens = read(get(auditor, "/api/v1/tokens"));
        assertThat(tokens.path("items").size()).isPositive();
        tokens.path("items").forEach(t -> assertThat(t.has("token")).as(t.toString()).isFalse());
        assertThat(read(get(auditor, "/api/v1/teams")).path("items").size()).isPositive();
        assertThat(get(auditor, "/api/v1/hosts").status()).isEqualTo(200);
        problem(postJson(auditor, "/api/v1/teams", "{\"name\":\"pg-d-" + run + "\"}"), 403);
        problem(send(request(auditor, "/api/v1/tokens/" + tokens.path("items").get(0).path("id").asString())
                .DELETE()), 403);
        String security = token(Set.of("SECURITY"), Set.of());
        assertThat(read(get(security, "/api/v1/teams")).path("items").size()).isPositive();
        problem(get(security, "/api/v1/tokens"), 403);
        assertThat(read(get(security, "/api/v1/base-images")).has("items")).isTrue();
    }

    /**
     * The same team created by several requests at once: one is created (one row, one event), the others are 409
     * conflict, never a 500 (the team insert race of the 2026-12-06 reviews, fixed then without a test of its own).
     */
    @Test
    void aTeamCreatedByManyRequestsAtOnceIsCreatedOnce() throws Exception {
        String name = "race-" + Long.toString(System.nanoTime() % 1_000_000_000L, 36);
        int n = 8;
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(n);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        java.util.List<Integer> statuses;
        try {
            java.util.List<java.util.concurrent.Future<Integer>> answers = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                answers.add(pool.submit(() -> {
                    together.await();
                    return postJson(ADMIN_SECRET, "/api/v1/teams", "{\"name\":\"" + name + "\"}").status();
                }));
            }
            statuses = new java.util.ArrayList<>();
            for (var a : answers) {
                statuses.add(a.get(60, java.util.concurrent.TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(statuses).containsOnly(201, 409);
        assertThat(statuses).filteredOn(st -> st == 201).hasSize(1);
        assertThat(jdbc.queryForObject("select count(*) from team where name = ?", Long.class, name)).isOne();
        assertThat(auditCount("team.created", "team/" + name)).isEqualTo(1);
    }

    @Test
    void requestIdsAreEchoedWhenValidAndGeneratedOtherwise() {
        Response echoed = send(request(ADMIN_SECRET, "/api/v1/teams").header("X-Request-Id", "ci-run-42.step-7").GET());
        Response replaced = send(request(ADMIN_SECRET, "/api/v1/teams").header("X-Request-Id", "bad id\twith junk").GET());

        assertThat(echoed.header("X-Request-Id")).isEqualTo("ci-run-42.step-7");
        assertThat(replaced.header("X-Request-Id")).isNotEqualTo("bad id\twith junk").matches("[0-9a-f-]{36}");
    }

    @Test
    void healthIsAnonymousAndMetricsNeedAdmin() {
        Response health = get(null, "/actuator/health/readiness");
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.body()).contains("UP");
        problem(get(null, "/actuator/prometheus"), 401);

        Response metrics = get(ADMIN_SECRET, "/actuator/prometheus");

        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.body()).contains("gateway_builds_queue_depth").contains("gateway_intake_bytes");
        // the request's own timer is kept; Spring Security's observation per filter is off (SecurityConfig)
        assertThat(metrics.body()).contains("http_server_requests_seconds").doesNotContain("spring_security_");
    }

    @Test
    void badJsonUnknownFieldsAndWrongMethodsAreClearProblems() {
        assertThat(problem(postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":"), 400).path("detail").asString())
                .contains("not valid JSON");
        assertThat(problem(postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"x\",\"roles\":[\"BUILDER\"],\"isAdmin\":true}"), 400).path("detail").asString())
                .contains("isAdmin");
        assertThat(problem(postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"x\",\"roles\":[\"GOD\"]}"), 400)
                .path("detail").asString()).contains("roles");
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"x\",\"roles\":[]}"), 400);
        problem(postJson(ADMIN_SECRET, "/api/v1/tokens",
                "{\"name\":\"x\",\"roles\":[\"ADMIN\"],\"expiresAt\":\"2001-01-01T00:00:00Z\"}"), 400);
        problem(send(request(ADMIN_SECRET, "/api/v1/tokens").PUT(HttpRequest.BodyPublishers.noBody())), 405);
        problem(send(request(ADMIN_SECRET, "/api/v1/tokens").header("Content-Type", "text/xml")
                .POST(HttpRequest.BodyPublishers.ofString("<x/>"))), 415);
        problem(get(ADMIN_SECRET, "/api/v1/no-such-thing"), 404);
        problem(get(ADMIN_SECRET, "/api/v1/builds/not-a-uuid"), 400);
        problem(get(ADMIN_SECRET, "/api/v1/builds?status=DANCING"), 400);
        problem(get(ADMIN_SECRET, "/api/v1/builds?limit=100000"), 400);
        problem(send(request(ADMIN_SECRET, "/api/v1/tokens/" + UUID.randomUUID()).DELETE()), 404);
    }

    @Test
    void hugeJsonBodiesAreRefusedWithoutBeingRead() {
        String huge = "{\"name\":\"" + "x".repeat(2 * 1024 * 1024) + "\",\"roles\":[\"ADMIN\"]}";
        long tokensBefore = jdbc.queryForObject("select count(*) from api_token", Long.class);

        problem(postJson(ADMIN_SECRET, "/api/v1/tokens", huge), 413);
        Response chunked = send(request(ADMIN_SECRET, "/api/v1/tokens").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(huge.getBytes()))));

        // a chunked body has no length to refuse it by: cut off at the limit, and answered 413 as well (before, a
        // review's finding of 2026-12-07, the parser's wrapping of the cut made it a 400 "not valid JSON")
        assertThat(problem(chunked, 413).path("type").asString()).endsWith("/too-large");
        assertThat(jdbc.queryForObject("select count(*) from api_token", Long.class)).isEqualTo(tokensBefore);
    }

    // ---- hostile request bodies and parameters (a review's findings, 2026-12-07) --------------------------------

    /**
     * Parameters Tomcat 11 cannot read (it throws from getParameter: a form body with a broken escape, more than
     * maxParameterCount parameters, a form body over maxPostSize) are the request's fault: 400/413 problem+json,
     * audited, before any token lookup. Before, the token filter's look for {@code access_token} threw, and the
     * request ended as a 500 "internal" from the error page, not audited as a refusal.
     */
    @Test
    void parametersTomcatCannotReadAreAnAuditedProblem() {
        String name = "params-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, String> form = Map.of("Content-Type", "application/x-www-form-urlencoded");
        RawHttp.Answer brokenEscape = RawHttp.send(port, "POST", "/api/v1/tokens", form,
                ("name=" + name + "&roles=ADMIN&a=%zz").getBytes(StandardCharsets.US_ASCII));
        assertThat(rawProblem(brokenEscape, 400, "invalid-query")).contains("form body");

        // in a form body: in the query string they would make the request line longer than Tomcat reads
        RawHttp.Answer tooMany = RawHttp.send(port, "POST", "/api/v1/tokens", form,
                ("name=" + name + "&roles=ADMIN" + "&a=1".repeat(1500)).getBytes(StandardCharsets.US_ASCII));
        assertThat(rawProblem(tooMany, 400, "invalid-query")).contains("more parameters");

        byte[] large = ("name=" + name + "&roles=ADMIN&pad=" + "x".repeat(2 * 1024 * 1024 + 1024))
                .getBytes(StandardCharsets.US_ASCII);
        RawHttp.Answer tooLarge = RawHttp.send(port, "POST", "/api/v1/tokens", form, large);
        assertThat(rawProblem(tooLarge, 413, "too-large")).contains("form body");

        assertThat(tokensNamed(name)).isZero();
    }

    /**
     * Boot's FormContentFilter is off: a PUT/PATCH/DELETE form body is not read (it was, whole and before the
     * security filters, and a broken one ended as a 500). The requests are answered as without it, refusals audited.
     */
    @Test
    void formBodiesOfPutAndDeleteAreNotRead() {
        Map<String, String> headers = Map.of("Authorization", "Bearer " + ADMIN_SECRET,
                "Content-Type", "application/x-www-form-urlencoded");
        byte[] broken = "a=%zz".getBytes(StandardCharsets.US_ASCII);
        rawProblem(RawHttp.send(port, "DELETE", "/api/v1/tokens/" + UUID.randomUUID(), headers, broken), 404,
                "not-found");
        rawProblem(RawHttp.send(port, "PUT", "/api/v1/tokens", headers, broken), 405, "method-not-allowed");
        rawProblem(RawHttp.send(port, "PATCH", "/api/v1/tokens", headers, broken), 405, "method-not-allowed");
    }

    /**
     * A Dockerfile to lint (text/plain) whose body cannot be read, here a broken chunked encoding, is a 400
     * unreadable-body as for a build's context; before, the IOException was a 500 with a stack trace in the log.
     */
    @Test
    @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
    void aLintBodyThatCannotBeReadIsA400(org.springframework.boot.test.system.CapturedOutput output) {
        String head = "POST /api/v1/lint HTTP/1.1\r\nHost: localhost:" + port + "\r\nConnection: close\r\n"
                + "Authorization: Bearer " + ADMIN_SECRET + "\r\nContent-Type: text/plain\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n";
        String body = "5\r\nFROM \r\nzz-not-a-chunk-size\r\nbusybox\r\n0\r\n\r\n";
        RawHttp.Answer a = RawHttp.sendRaw(port, (head + body).getBytes(StandardCharsets.US_ASCII));
        assertThat(rawProblem(a, 400, "unreadable-body")).contains("could not be read");
        assertThat(output.getAll()).doesNotContain("unexpected failure on POST /api/v1/lint");
    }

    /**
     * A key given twice is refused, naming it, not read as its last value: before (a review's finding, 2026-12-07)
     * {@code "roles":["AUDITOR"],"roles":["ADMIN"]} made an ADMIN token.
     */
    @Test
    void aFieldGivenTwiceIsRefusedNamingIt() {
        String name = "dup-" + UUID.randomUUID().toString().substring(0, 8);
        Response r = postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"" + name
                + "\",\"roles\":[\"AUDITOR\"],\"roles\":[\"ADMIN\"]}");
        JsonNode p = problem(r, 400);
        assertThat(p.path("type").asString()).endsWith("/unreadable-body");
        assertThat(p.path("detail").asString()).contains("'roles'").contains("more than once");
        assertAuditedRefusal(r.header("X-Request-Id"));
        assertThat(tokensNamed(name)).isZero();
    }

    /**
     * No scalar is coerced into another type: before (a review's finding, 2026-12-07) {@code "name":12345} was the
     * name "12345", {@code "roles":[4]} the role ADMIN (the enum's index), {@code "expiresAt":""} no expiry (the
     * longest lifetime) and {@code "dryRun":"true"} or {@code 1} true. Each is a 400 naming the field.
     */
    @Test
    void scalarsAreNotCoercedIntoOtherTypes() {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        long number = 1_000_000_000L + (long) (Math.random() * 1_000_000_000L);
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("{\"name\":" + number + ",\"roles\":[\"AUDITOR\"]}", "name");
        cases.put("{\"name\":\"enum-" + suffix + "\",\"roles\":[4]}", "roles");
        cases.put("{\"name\":\"empty-" + suffix + "\",\"roles\":[\"AUDITOR\"],\"expiresAt\":\"\"}", "expiresAt");
        cases.put("{\"name\":true,\"roles\":[\"AUDITOR\"]}", "name");
        cases.forEach((body, field) -> {
            Response r = postJson(ADMIN_SECRET, "/api/v1/tokens", body);
            JsonNode p = problem(r, 400);
            assertThat(p.path("detail").asString()).as(body).contains("'" + field + "'");
            assertAuditedRefusal(r.header("X-Request-Id"));
        });
        for (String dryRun : java.util.List.of("\"true\"", "1")) {
            Response r = postJson(ADMIN_SECRET, "/api/v1/rebuilds", "{\"selector\":{\"cve\":\"CVE-1999-0001\"},"
                    + "\"reason\":\"coercion probe\",\"dryRun\":" + dryRun + "}");
            assertThat(problem(r, 400).path("detail").asString()).as(dryRun).contains("'dryRun'");
            assertAuditedRefusal(r.header("X-Request-Id"));
        }
        assertThat(tokensNamed(String.valueOf(number))).isZero();
        assertThat(tokensNamed("enum-" + suffix)).isZero();
        assertThat(tokensNamed("empty-" + suffix)).isZero();
        assertThat(tokensNamed("true")).isZero();
    }

    /**
     * The API reads and writes JSON only: a YAML, CBOR or Smile body is a 415 and a YAML Accept gets no YAML.
     * Before (a review's finding, 2026-12-07) the YAML converter, on the classpath with the Kubernetes client, read
     * a token request in YAML.
     */
    @Test
    void yamlAndOtherJacksonFormatsAreNeitherReadNorWritten() {
        String name = "yaml-" + UUID.randomUUID().toString().substring(0, 8);
        for (String type : java.util.List.of("application/yaml", "application/x-yaml", "application/cbor",
                "application/x-jackson-smile")) {
            Response r = send(request(ADMIN_SECRET, "/api/v1/tokens").header("Content-Type", type)
                    .POST(HttpRequest.BodyPublishers.ofString("name: " + name + "\nroles: [ADMIN]\n")));
            assertThat(problem(r, 415).path("type").asString()).as(type).endsWith("/unsupported-media-type");
            assertAuditedRefusal(r.header("X-Request-Id"));
        }
        assertThat(tokensNamed(name)).isZero();
        Response yaml = send(request(ADMIN_SECRET, "/api/v1/tokens").header("Accept", "application/yaml").GET());
        assertThat(yaml.status()).as(yaml.body()).isEqualTo(406);
        assertThat(String.valueOf(yaml.header("Content-Type"))).doesNotContain("yaml");
        assertThat(yaml.body()).doesNotContain("name: ");
    }

    /** Asserts a problem+json refusal of a raw request, audited once under its request id; returns its detail. */
    private String rawProblem(RawHttp.Answer a, int status, String type) {
        assertThat(a.status()).as(a.body()).isEqualTo(status);
        assertThat(a.header("Content-Type")).startsWith("application/problem+json");
        JsonNode p = json.readTree(a.body());
        assertThat(p.path("status").asInt()).isEqualTo(status);
        assertThat(p.path("type").asString()).isEqualTo("https://build-gateway.dev/problems/" + type);
        assertThat(a.body()).doesNotContain("Exception").doesNotContain("at io.");
        assertAuditedRefusal(a.header("X-Request-Id"));
        return p.path("detail").asString();
    }

    private void assertAuditedRefusal(String requestId) {
        assertThat(requestId).isNotBlank();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where request_id = ? and action ="
                + " 'http.refused'", Long.class, requestId)).as("refusal of " + requestId + " audited").isOne();
    }

    private long tokensNamed(String name) {
        return jdbc.queryForObject("select count(*) from api_token where name = ?", Long.class, name);
    }

    /**
     * Replicas starting together on a new database each make sure the bootstrap admin token exists: one creates it,
     * the others find it, none fails (before, a review's finding of 2026-12-07, two could both insert and the second
     * replica's start ended on the unique secret hash).
     */
    @Test
    void replicasEnsuringTheBootstrapTokenAtOnceCreateItOnce(
            @org.springframework.beans.factory.annotation.Autowired Tokens tokens) throws Exception {
        for (int round = 0; round < 5; round++) {
            String secret = "bootstrap-race-" + UUID.randomUUID();
            int replicas = 4;
            java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(replicas);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(replicas);
            try {
                java.util.List<java.util.concurrent.Future<Boolean>> created = new java.util.ArrayList<>();
                for (int i = 0; i < replicas; i++) {
                    created.add(pool.submit(() -> {
                        together.await();
                        return tokens.ensureBootstrap(secret);
                    }));
                }
                int n = 0;
                for (var f : created) {
                    n += f.get(30, java.util.concurrent.TimeUnit.SECONDS) ? 1 : 0; // throws if one failed
                }
                assertThat(n).as("round %d", round).isOne();
            } finally {
                pool.shutdownNow();
            }
            assertThat(get(secret, "/api/v1/tokens").status()).isEqualTo(200);
            revokeBootstrap(secret);
        }
    }

    /** Revokes a test's bootstrap admin token (one row holds its secret, or this fails). */
    private void revokeBootstrap(String secret) {
        String id = jdbc.queryForObject("select id::text from api_token where secret_hash = ?", String.class,
                Tokens.hash(secret));
        assertThat(send(request(ADMIN_SECRET, "/api/v1/tokens/" + id).DELETE()).status()).isEqualTo(204);
    }
}
