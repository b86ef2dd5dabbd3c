package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.RawHttp;
import io.buildgateway.support.RawHttp.Answer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Non-negotiable 3 over the whole API at once: every operation of the generated OpenAPI document (so a new endpoint
 * is swept without anyone adding it) gets hostile path variables, hostile values in each query parameter it declares
 * and hostile bodies, with an ADMIN token and with an AUDITOR token. Every answer must be a 4xx problem+json that says
 * what was wrong, leaks nothing internal and is in the audit trail under its request id (or, for a read whose hostile
 * value is merely odd, a 2xx); nothing may change state (every state change is audited as a success, and the sweep's
 * tokens have none). The requests go over a raw socket: the JDK's client refuses to send most of them.
 */
@ExtendWith(OutputCaptureExtension.class)
class HostileRequestSweepIT extends IntegrationTest {

    /** Query values no parameter can be read from: refused before any controller (QueryStringCheck). */
    private static final List<String> UNREADABLE = List.of("%ff", "%00", "%zz", "%", "%C3%28", "a%ED%A0%80");
    /** Odd but readable values: a read may answer them, nothing may fail on them. */
    private static final List<String> ODD = List.of("-1", "99999999999999999999", "%27%20or%201%3D1--",
            "a".repeat(3000), "%E2%80%AE%0D%0AX-Injected:%201", "..%2F..%2Fetc%2Fpasswd");
    private static final List<String> BAD_PATH_VALUES = List.of("%00", "%ff", "%2F..%2F..%2Fetc%2Fpasswd",
            "a".repeat(2000), "%27%20or%201%3D1--", "%C3%28", "..", "%20");

    private String admin;
    private String adminName;
    private String auditor;
    private String auditorName;
    private final List<String> wrong = new ArrayList<>();

    @BeforeEach
    void tokens() {
        adminName = "sweep-admin-" + UUID.randomUUID().toString().substring(0, 8);
        admin = issue(adminName, "ADMIN");
        auditorName = "sweep-auditor-" + UUID.randomUUID().toString().substring(0, 8);
        auditor = issue(auditorName, "AUDITOR");
    }

    private String issue(String name, String role) {
        Response r = postJson(ADMIN_SECRET, "/api/v1/tokens", "{\"name\":\"" + name + "\",\"roles\":[\"" + role
                + "\"],\"teams\":[\"sweep\"]}");
        assertThat(r.status()).as(r.body()).isEqualTo(201);
        return read(r).path("token").asString();
    }

    private record Operation(String method, String path, List<String> query, JsonNode body) {
        String concrete(String value) {
            return path.replaceAll("\\{[^}/]+}", java.util.regex.Matcher.quoteReplacement(value));
        }

        boolean hasPathVariables() {
            return path.contains("{");
        }
    }

    @Test
    void everyOperationRefusesHostileInputWithAnAuditedProblemAndChangesNothing() {
        JsonNode api = read(get(null, "/v3/api-docs"));
        List<Operation> operations = operations(api);
        assertThat(operations).as("operations in the generated document").hasSizeGreaterThanOrEqualTo(27);
        int sent = 0;
        for (String token : List.of(admin, auditor)) {
            for (Operation op : operations) {
                String fine = op.concrete("sweep-nothing");
                if (op.hasPathVariables()) {
                    for (String v : BAD_PATH_VALUES) {
                        check(op.method(), op.concrete(v), token, null, null, Expect.REFUSED);
                        sent++;
                    }
                }
                for (String q : op.query()) {
                    for (String v : UNREADABLE) {
                        check(op.method(), fine + "?" + q + "=" + v, token, null, null, Expect.BAD_REQUEST);
                        sent++;
                    }
                    if (op.method().equals("GET")) {
                        for (String v : ODD) {
                            check(op.method(), fine + "?" + q + "=" + v, token, null, null, Expect.NO_FAILURE);
                            sent++;
                        }
                    }
                }
                if (op.body() != null) {
                    for (Body body : bodies(api, op.body())) {
                        check(op.method(), fine, token, body.contentType(), body.bytes(), Expect.REFUSED_OR_READ);
                        sent++;
                    }
                }
            }
        }
        assertThat(sent).as("hostile requests sent").isGreaterThan(1000);
        assertThat(wrong).as("wrong answers among %d hostile requests", sent).isEmpty();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where actor in (?, ?) and outcome not in"
                + " ('DENIED', 'REJECTED')", Long.class, adminName, auditorName))
                .as("state changes made by the sweep's requests").isZero();
    }

    /**
     * Values a review found reaching the database, where they failed as a 500 (2026-12-06): nulls in a JSON array, the
     * character U+0000 in a JSON string, instants beyond what a timestamp holds (in a filter, a cursor, an advisory),
     * a value longer than its column, and a digest cut in the middle of a surrogate pair when quoted back. Each must be
     * a 4xx problem+json, audited, that changed nothing.
     */
    @Test
    void valuesTheDatabaseWouldRefuseAreRefusedFirst() {
        String security = issue("sweep-security-" + UUID.randomUUID().toString().substring(0, 8), "SECURITY");
        String team = "nul" + UUID.randomUUID().toString().substring(0, 6);
        String far = Base64.getUrlEncoder().withoutPadding().encodeToString(("-999999999-01-01T00:00:00Z|"
                + UUID.randomUUID()).getBytes(StandardCharsets.UTF_8));
        String json = "application/json";
        record Case(String method, String target, String token, String body, Expect expect) {
        }
        List<Case> cases = List.of(
                new Case("POST", "/api/v1/tokens", admin, "{\"name\":\"t\",\"roles\":[null]}", Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/tokens", admin, "{\"name\":\"t\",\"roles\":[\"BUILDER\"],"
                        + "\"teams\":[null]}", Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/teams", admin, "{\"name\":\"" + team + "\",\"description\":\"a\\u0000b\"}",
                        Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/rebuilds", security, "{\"selector\":{\"team\":\"a\\u0000\"},"
                        + "\"dryRun\":true}", Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/rebuilds", security, "{\"selector\":{\"images\":[\"sha256:" + "0".repeat(64)
                        + "\"]},\"reason\":\"sweep-nul\\u0000\"}", Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/advisories", security, "[{\"id\":\"SWEEP\\u0000\",\"modified\":"
                        + "\"2024-01-01T00:00:00Z\"}]", Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/advisories", security, "[{\"id\":\"SWEEP-FAR\",\"modified\":"
                        + "\"+999999999-12-31T00:00:00Z\"}]", Expect.BAD_REQUEST),
                new Case("POST", "/api/v1/advisories", security, "[{\"id\":\"SWEEP-LONG\",\"modified\":"
                        + "\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":{\"ecosystem\":\"" + "e".repeat(65)
                        + "\",\"name\":\"p\"}}]}]", Expect.BAD_REQUEST),
                new Case("GET", "/api/v1/audit?since=-999999999-01-01T00:00:00Z", auditor, null, Expect.BAD_REQUEST),
                new Case("GET", "/api/v1/audit?until=%2B294277-01-01T00:00:00Z", auditor, null, Expect.BAD_REQUEST),
                new Case("GET", "/api/v1/notifications?cursor=" + far, security, null, Expect.BAD_REQUEST),
                new Case("GET", "/api/v1/builds?cursor=" + far, security, null, Expect.BAD_REQUEST),
                new Case("GET", "/api/v1/images/" + "a".repeat(79) + "%F0%9F%98%80" + "b", security, null,
                        Expect.BAD_REQUEST));
        for (Case c : cases) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Authorization", "Bearer " + c.token());
            if (c.body() != null) {
                headers.put("Content-Type", json);
            }
            Answer a = RawHttp.send(port, c.method(), c.target(), headers,
                    c.body() == null ? null : c.body().getBytes(StandardCharsets.UTF_8));
            verdict(c.method() + " " + RawHttp.abbreviated(c.target()) + (c.body() == null ? "" : " " + c.body()), a,
                    c.expect());
        }
        assertThat(wrong).as("wrong answers").isEmpty();
        assertThat(jdbc.queryForObject("select count(*) from team where name = ?", Long.class, team)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from advisory where id like 'SWEEP%'", Long.class)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from rebuild where reason like 'sweep-nul%'", Long.class))
                .isZero();
    }

    @Test
    void hostileHeadersAndMethodsGetAnAuditedProblem() {
        Map<String, Map<String, String>> headers = new LinkedHashMap<>();
        headers.put("a 20 KiB bearer token", Map.of("Authorization", "Bearer " + "t".repeat(20 * 1024)));
        headers.put("basic credentials", Map.of("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                "admin:admin".getBytes(StandardCharsets.UTF_8))));
        headers.put("an empty bearer", Map.of("Authorization", "Bearer "));
        headers.put("a bearer with a space", Map.of("Authorization", "Bearer a b"));
        headers.put("a forged forwarded-for", Map.of("X-Forwarded-For", "10.0.0.1", "Authorization", "Bearer nope"));
        headers.put("a hostile request id", Map.of("X-Request-Id", "../../etc/passwd%00", "Authorization",
                "Bearer nope"));
        for (var h : headers.entrySet()) {
            Answer a = RawHttp.send(port, "GET", "/api/v1/builds", h.getValue(), null);
            verdict(h.getKey(), a, Expect.REFUSED);
        }
        for (String method : List.of("TRACE", "PROPFIND", "FOO", "PATCH")) {
            Answer a = RawHttp.send(port, method, "/api/v1/builds", Map.of("Authorization", "Bearer " + admin),
                    null);
            verdict(method + " /api/v1/builds", a, Expect.REFUSED);
        }
        for (String path : List.of("/api/v1/builds/%2F..%2Fx", "/api/v1/%00", "/api/v1/builds/%C3%28",
                "/api/v1/builds/" + "b".repeat(3000), "/api/v1/builds?a=%ff", "/actuator/health?probe=%ff",
                "/actuator/health/%2F..%2Fenv", "/actuator/prometheus?name=%00", "/actuator/env", "/actuator/heapdump",
                "/v3/api-docs?group=%C3%28", "/swagger-ui.html?url=%zz")) {
            verdict("GET " + RawHttp.abbreviated(path) + " without a token", RawHttp.send(port, "GET", path,
                    Map.of(), null), Expect.REFUSED);
        }
        assertThat(wrong).isEmpty();
        // a refusal is recorded once, whoever wrote it: a HEAD's refusal has no body on the wire, and the error
        // report valve (which answers what nothing wrote to) must not record it a second time
        for (String path : List.of("/api/v1/builds/" + UUID.randomUUID(), "/api/v1/builds?limit=0", "/api/v1/nothing",
                "/api/v1/builds?a=%ff")) {
            Answer head = RawHttp.send(port, "HEAD", path, Map.of("Authorization", "Bearer " + admin), null);
            assertThat(head.status()).as(path).isBetween(400, 499);
            assertThat(jdbc.queryForObject("select count(*) from audit_event where request_id = ?", Long.class,
                    head.header("X-Request-Id"))).as("audit rows of HEAD " + path).isOne();
        }
        // a path longer than the audit trail's target column is recorded cut, saying how long it was
        String longPath = "/api/v1/builds/" + "c".repeat(3000);
        Answer a = RawHttp.send(port, "GET", longPath, Map.of("Authorization", "Bearer " + admin), null);
        assertThat(a.status()).isBetween(400, 499);
        assertThat(jdbc.queryForObject("select target from audit_event where request_id = ?", String.class,
                a.header("X-Request-Id"))).hasSize(1024).endsWith("[" + longPath.length() + " chars in all]");
    }

    @Test
    void aRefusedSecretAppearsInNoAnswerNoAuditRowAndNoLogLine(CapturedOutput output) {
        String canary = "canary" + UUID.randomUUID().toString().replace("-", "");
        long from = jdbc.queryForObject("select coalesce(max(seq), 0) from audit_event", Long.class);
        List<Answer> answers = new ArrayList<>();
        answers.add(RawHttp.send(port, "GET", "/api/v1/builds", Map.of("Authorization", "Bearer " + canary), null));
        answers.add(RawHttp.send(port, "GET", "/api/v1/builds", Map.of("Authorization", "Basic " + Base64.getEncoder()
                .encodeToString(("admin:" + canary).getBytes(StandardCharsets.UTF_8))), null));
        answers.add(RawHttp.send(port, "GET", "/api/v1/builds?access_token=" + canary, Map.of(), null));
        answers.add(RawHttp.send(port, "GET", "/api/v1/builds?token=" + canary + "%ff", Map.of(), null));
        for (String body : List.of("{\"name\":\"x\",\"password\":\"" + canary + "\"}", "{\"name\":\"" + canary,
                "{\"roles\":[\"" + canary + "\"]}")) {
            answers.add(RawHttp.send(port, "POST", "/api/v1/tokens", Map.of("Authorization", "Bearer " + admin,
                    "Content-Type", "application/json"), body.getBytes(StandardCharsets.UTF_8)));
        }
        for (Answer a : answers) {
            assertThat(a.status()).as(a.body()).isBetween(400, 499);
            assertThat(a.body()).doesNotContain(canary);
            assertThat(a.headers().toString()).doesNotContain(canary);
        }
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and (details like ? or"
                + " target like ? or actor like ?)", Long.class, from, "%" + canary + "%", "%" + canary + "%",
                "%" + canary + "%")).isZero();
        assertThat(jdbc.queryForObject("select count(*) from audit_event where seq > ? and action = 'http.refused'",
                Long.class, from)).isGreaterThanOrEqualTo(answers.size());
        assertThat(output.getAll()).doesNotContain(canary);
    }

    private enum Expect {
        /** 400 exactly. */
        BAD_REQUEST,
        /** Any 4xx. */
        REFUSED,
        /** A 4xx, or a 2xx that changed nothing (a lint of a hostile body reads it). */
        REFUSED_OR_READ,
        /** Anything but a 5xx. */
        NO_FAILURE
    }

    private void check(String method, String target, String token, String contentType, byte[] body, Expect expect) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Authorization", "Bearer " + token);
        if (contentType != null) {
            headers.put("Content-Type", contentType);
        }
        Answer a = RawHttp.send(port, method, target, headers, body);
        verdict(method + " " + RawHttp.abbreviated(target) + (contentType == null ? "" : " [" + contentType + " "
                + (body.length > 60 ? body.length + " bytes" : new String(body, StandardCharsets.UTF_8)) + "]")
                + (token.equals(admin) ? " as ADMIN" : " as AUDITOR"), a, expect);
    }

    private void verdict(String request, Answer a, Expect expect) {
        int s = a.status();
        boolean statusFine = switch (expect) {
            case BAD_REQUEST -> s == 400;
            case REFUSED -> s >= 400 && s < 500;
            case REFUSED_OR_READ -> s >= 200 && s < 300 || s >= 400 && s < 500;
            case NO_FAILURE -> s < 500;
        };
        if (!statusFine) {
            wrong.add(request + " -> " + s + " " + RawHttp.abbreviated(a.body()));
            return;
        }
        if (s < 400) {
            return;
        }
        String type = a.header("Content-Type");
        if (type == null || !type.startsWith("application/problem+json")) {
            wrong.add(request + " -> " + s + " as " + type + ": " + RawHttp.abbreviated(a.body()));
            return;
        }
        JsonNode p;
        try {
            p = json.readTree(a.body());
        } catch (RuntimeException e) {
            wrong.add(request + " -> " + s + " with a body that is not JSON: " + RawHttp.abbreviated(a.body()));
            return;
        }
        if (p.path("detail").asString().isBlank() || p.path("status").asInt() != s) {
            wrong.add(request + " -> " + s + " without a detail or with another status: " + a.body());
        }
        for (String leak : List.of("Exception", "\tat ", "at io.", "SQL", "org.springframework", "java.", "Tomcat",
                "<html")) {
            if (a.body().contains(leak)) {
                wrong.add(request + " -> " + s + " says '" + leak + "': " + RawHttp.abbreviated(a.body()));
            }
        }
        String id = a.header("X-Request-Id");
        if (id == null) {
            wrong.add(request + " -> " + s + " without an X-Request-Id");
        } else if (jdbc.queryForObject("select count(*) from audit_event where request_id = ? and action ="
                + " 'http.refused'", Long.class, id) == 0) {
            wrong.add(request + " -> " + s + " not in the audit trail (request " + id + ")");
        }
    }

    // ---- the operations and their bodies, from the generated document ----------------------------------------

    private static List<Operation> operations(JsonNode api) {
        List<Operation> ops = new ArrayList<>();
        for (var path : api.path("paths").properties()) {
            for (var method : path.getValue().properties()) {
                List<String> query = new ArrayList<>();
                for (JsonNode p : method.getValue().path("parameters")) {
                    if (p.path("in").asString().equals("query")) {
                        query.add(p.path("name").asString());
                    }
                }
                JsonNode body = method.getValue().path("requestBody").path("content");
                ops.add(new Operation(method.getKey().toUpperCase(java.util.Locale.ROOT), path.getKey(), query,
                        body.isMissingNode() || body.isEmpty() ? null : body));
            }
        }
        return ops;
    }

    private record Body(String contentType, byte[] bytes) {
    }

    /** Hostile bodies for each content type the operation declares. */
    private List<Body> bodies(JsonNode api, JsonNode content) {
        List<Body> bodies = new ArrayList<>();
        for (var media : content.properties()) {
            String type = media.getKey();
            if (type.contains("json")) {
                JsonNode schema = resolve(api, media.getValue().path("schema"));
                for (String b : List.of("{", "{\"a\":", "[]", "\"text\"", "{\"sweepUnknownField\":1}", "",
                        "[".repeat(5000) + "]".repeat(5000), "{\"name\":\"" + "n".repeat(3 * 1024 * 1024) + "\"}",
                        nulInEveryString(api, schema).toString(), "{\"name\":\"\\u0000\"}")) {
                    bodies.add(new Body(type, b.getBytes(StandardCharsets.UTF_8)));
                }
                bodies.add(new Body("application/xml", "<a/>".getBytes(StandardCharsets.UTF_8)));
            } else {
                bodies.add(new Body(type, "this is not what the endpoint reads\0\1\2"
                        .getBytes(StandardCharsets.UTF_8)));
                bodies.add(new Body(type, new byte[0]));
            }
        }
        return bodies;
    }

    private static JsonNode resolve(JsonNode api, JsonNode schema) {
        String ref = schema.path("$ref").asString();
        if (ref.startsWith("#/components/schemas/")) {
            return api.path("components").path("schemas").path(ref.substring("#/components/schemas/".length()));
        }
        return schema;
    }

    /** The schema's own shape with a NUL in every string (PostgreSQL refuses NUL in text). */
    private JsonNode nulInEveryString(JsonNode api, JsonNode schema) {
        ObjectNode o = json.createObjectNode();
        for (var p : schema.path("properties").properties()) {
            JsonNode s = resolve(api, p.getValue());
            switch (s.path("type").asString()) {
                case "string" -> o.put(p.getKey(), "sweep\u0000nul");
                case "array" -> {
                    ArrayNode a = o.putArray(p.getKey());
                    if (resolve(api, s.path("items")).path("type").asString().equals("string")) {
                        a.add("sweep\u0000nul");
                    }
                }
                default -> {
                    // numbers, booleans and nested objects keep their absence
                }
            }
        }
        return o;
    }
}
