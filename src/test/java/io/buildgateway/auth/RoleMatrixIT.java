package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.RawHttp;
import io.buildgateway.support.RawHttp.Answer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The roles table of API.md (docs/api.md, "Roles and teams", with the decisions added there on 2026-12-06 and
 * 2026-12-07) against every operation of the generated OpenAPI document, for one token of each role: the table is the
 * oracle, the answers are the gateway's. An operation the document has and this matrix does not fails the test, so a
 * new endpoint gets its roles decided and written down before it ships. Each request is one that changes nothing
 * whoever sends it (an id that does not exist or a build refused at submission, an empty JSON object, an empty tar, a
 * lint), so a role the table allows gets past the role check to an answer about the request (2xx, 400, 404, 409,
 * 415, 422), and a role it does not allow gets 403 problem+json, recorded in the audit trail as DENIED.
 */
class RoleMatrixIT extends IntegrationTest {

    private static final String ALL = "BUILDER DEPLOYER SECURITY AUDITOR ADMIN";
    /** Who reads builds: a BUILDER its teams' builds; SECURITY, AUDITOR and ADMIN every build; not a DEPLOYER. */
    private static final String BUILD_READERS = "BUILDER SECURITY AUDITOR ADMIN";

    /**
     * docs/api.md's table, by operation. "BUILDER" means a BUILDER of the request's team (the matrix's BUILDER token
     * holds the team the requests name).
     */
    private static final Map<String, String> MATRIX = Map.ofEntries(
            Map.entry("POST /api/v1/tokens", "ADMIN"),
            Map.entry("GET /api/v1/tokens", "ADMIN AUDITOR"),
            Map.entry("GET /api/v1/tokens/expiring", "ADMIN AUDITOR"),
            Map.entry("DELETE /api/v1/tokens/{id}", "ADMIN"),
            // A token's own rotation is anyone's; another's (here: one that does not exist) only an ADMIN's.
            Map.entry("POST /api/v1/tokens/{id}/rotate", "ADMIN"),
            Map.entry("POST /api/v1/teams", "ADMIN"),
            Map.entry("GET /api/v1/teams", "ADMIN SECURITY AUDITOR"),
            Map.entry("POST /api/v1/builds", "BUILDER"),
            Map.entry("GET /api/v1/builds", BUILD_READERS),
            Map.entry("GET /api/v1/builds/{id}", BUILD_READERS),
            Map.entry("GET /api/v1/builds/{id}/logs", BUILD_READERS),
            Map.entry("GET /api/v1/builds/{id}/fetches", BUILD_READERS),
            Map.entry("GET /api/v1/builds/{id}/fetches/diff", BUILD_READERS),
            Map.entry("POST /api/v1/builds/{id}/cancel", "BUILDER ADMIN"),
            Map.entry("POST /api/v1/lint", "BUILDER SECURITY ADMIN"),
            Map.entry("GET /api/v1/policy", ALL),
            Map.entry("GET /api/v1/hosts", "ADMIN SECURITY AUDITOR"),
            Map.entry("GET /api/v1/signing-key", ALL),
            Map.entry("GET /api/v1/audit", "AUDITOR ADMIN"),
            Map.entry("GET /api/v1/audit/verify", "AUDITOR ADMIN"),
            Map.entry("GET /api/v1/images", ALL),
            Map.entry("GET /api/v1/images/{digest}", ALL),
            Map.entry("GET /api/v1/images/{digest}/sbom", ALL),
            Map.entry("GET /api/v1/images/{digest}/scans", ALL),
            Map.entry("GET /api/v1/images/{digest}/scans/compliance/arf", ALL),
            Map.entry("GET /api/v1/images/{digest}/provenance", ALL),
            Map.entry("POST /api/v1/advisories", "SECURITY ADMIN"),
            // Deliveries name webhook endpoints: not the AUDITOR's (docs/api.md, 2026-12-06).
            Map.entry("GET /api/v1/notifications", "SECURITY ADMIN"),
            Map.entry("POST /api/v1/deployments", "DEPLOYER"),
            Map.entry("GET /api/v1/deployments", ALL),
            Map.entry("POST /api/v1/rebuilds", "SECURITY ADMIN"),
            Map.entry("GET /api/v1/rebuilds/{id}", "SECURITY ADMIN AUDITOR"),
            Map.entry("GET /api/v1/base-images", ALL),
            Map.entry("POST /api/v1/base-images/refresh", "SECURITY ADMIN"));

    /**
     * Operations sent only to the roles the table refuses: for a role it allows, the request would do its work (a
     * refresh of the base-image watch asks the registry and may record moved tags and start their rebuilds).
     */
    private static final Set<String> REFUSALS_ONLY = Set.of("POST /api/v1/base-images/refresh");

    @Test
    void everyOperationAnswersEachRoleAsApiMdsRolesTableSays() {
        String run = UUID.randomUUID().toString().substring(0, 8);
        String team = "rm" + run;
        Map<String, String> tokens = new LinkedHashMap<>();
        Map<String, String> names = new LinkedHashMap<>();
        for (String role : ALL.split(" ")) {
            String name = "matrix-" + role.toLowerCase(Locale.ROOT) + "-" + run;
            Response r = postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"" + name + "\",\"roles\":[\"" + role
                    + "\"],\"teams\":[\"" + team + "\"]}");
            assertThat(r.status()).as(r.body()).isEqualTo(201);
            tokens.put(role, read(r).path("token").asString());
            names.put(role, name);
        }

        // A build of the team to read and cancel: refused at submission (an ADD of a URL no egress admits), so it is
        // a record, final, on no host; a cancel of it by a role that may cancel is a 409 that changes nothing.
        Response rejected = submit(tokens.get("BUILDER"), "image=" + team + "/matrix&tag=1",
                io.buildgateway.support.Tars.dockerfile("FROM scratch\nADD http://matrix.invalid/x /x\n"));
        assertThat(rejected.status()).as(rejected.body()).isEqualTo(422);
        String build = read(rejected).path("buildId").asString();
        assertThat(build).isNotBlank();

        JsonNode api = read(get(null, "/v3/api-docs"));
        Set<String> documented = new TreeSet<>();
        for (var path : api.path("paths").properties()) {
            for (var method : path.getValue().properties()) {
                documented.add(method.getKey().toUpperCase(Locale.ROOT) + " " + path.getKey());
            }
        }
        assertThat(MATRIX.keySet()).as("operations whose roles are decided here and in docs/api.md")
                .containsExactlyInAnyOrderElementsOf(documented);

        List<String> wrong = new ArrayList<>();
        int refused = 0;
        int sent = 0;
        for (String operation : new TreeSet<>(MATRIX.keySet())) {
            Set<String> allowed = Set.of(MATRIX.get(operation).split(" "));
            for (var token : tokens.entrySet()) {
                boolean allow = allowed.contains(token.getKey());
                if (allow && REFUSALS_ONLY.contains(operation)) {
                    continue;
                }
                Answer a = send(operation, token.getValue(), team, run, build);
                sent++;
                String seen = token.getKey() + " " + operation + " → " + a.status() + " "
                        + RawHttp.abbreviated(a.body());
                boolean problem = a.header("Content-Type") != null
                        && a.header("Content-Type").startsWith("application/problem+json");
                if (a.status() >= 500 || a.status() == 401) {
                    wrong.add(seen + " (neither an answer nor a role refusal)");
                } else if (allow && a.status() == 403) {
                    wrong.add(seen + " (the table allows " + token.getKey() + ")");
                } else if (!allow && a.status() != 403) {
                    wrong.add(seen + " (the table does not allow " + token.getKey() + ")");
                } else if (!allow && !problem) {
                    wrong.add(seen + " (a refusal that is not problem+json)");
                } else if (!allow) {
                    refused++;
                }
            }
        }
        assertThat(wrong).as("answers against docs/api.md's roles table, of %d requests", sent).isEmpty();
        assertThat(refused).as("refusals sent").isGreaterThan(40);
        // Non-negotiable 4: every refusal is in the audit trail, by the token's name.
        assertThat(jdbc.queryForObject("select count(*) from audit_event where outcome = 'DENIED' and actor in ("
                + "?, ?, ?, ?, ?)", Long.class, names.values().toArray())).as("DENIED events of the matrix's tokens")
                .isEqualTo(refused);
    }

    /** One request for the operation that changes nothing, whoever sends it. */
    private Answer send(String operation, String token, String team, String run, String build) {
        int space = operation.indexOf(' ');
        String method = operation.substring(0, space);
        String path = operation.substring(space + 1);
        path = (path.startsWith("/api/v1/builds/") ? path.replace("{id}", build) : path)
                .replace("{id}", "00000000-0000-4000-8000-" + "0".repeat(4) + run)
                .replace("{digest}", "sha256:" + "0".repeat(64));
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", "Bearer " + token);
        byte[] body = null;
        switch (operation) {
            case "POST /api/v1/builds" -> {
                path += "?image=" + team + "/matrix&tag=1";
                headers.put("Content-Type", "application/x-tar");
                body = new byte[0]; // an empty tar: 400 before anything is stored
            }
            case "POST /api/v1/lint" -> {
                path += "?image=" + team + "/matrix";
                headers.put("Content-Type", "text/plain");
                body = "FROM scratch\n".getBytes(StandardCharsets.UTF_8);
            }
            case "GET /api/v1/builds/{id}/fetches/diff" -> path += "?against=" + build;
            case "POST /api/v1/builds/{id}/cancel", "POST /api/v1/tokens/{id}/rotate",
                    "POST /api/v1/base-images/refresh" -> body = new byte[0];
            default -> {
                if (method.equals("POST")) {
                    headers.put("Content-Type", "application/json");
                    body = "{}".getBytes(StandardCharsets.UTF_8); // lacks what every body needs: 400
                }
            }
        }
        return RawHttp.send(port, method, path, headers, body);
    }
}
