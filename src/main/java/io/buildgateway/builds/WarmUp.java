package io.buildgateway.builds;

import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import io.buildgateway.auth.Tokens;
import io.buildgateway.auth.WarmUpPass;
import io.buildgateway.intake.ContextIntake;
import io.buildgateway.policy.Evaluation;
import io.buildgateway.policy.PolicyEvaluator;
import io.buildgateway.policy.PolicyProperties;
import io.buildgateway.shared.Problem;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.boot.availability.ApplicationAvailability;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.io.Resource;
import org.springframework.core.io.support.PathMatchingResourcePatternResolver;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/**
 * A starting replica rehearses its hot request paths before it takes traffic (issue #17, latency: at 60 clients the
 * submit p99 was the run's first 20 seconds, cold JIT compilers among the causes). An {@link ApplicationRunner}:
 * Spring Boot publishes {@code ReadinessState.ACCEPTING_TRAFFIC} only after every runner has returned, so the
 * readiness probe ({@code /actuator/health/readiness}: the chart's readinessProbe, {@code bench/gateway.sh}) answers
 * 503 OUT_OF_SERVICE while this runs; the web server is already up, which lets the rounds go through it too.
 *
 * <p>Each round, for at most {@code gateway.warmup.max-duration} or {@code rounds} rounds: a token check of a secret
 * nobody holds (the statement every request runs; an unknown token writes nothing); the status read of an existing
 * build if there is one, as a reader of all teams, and of an id that does not exist (404, thrown and dropped here,
 * so not audited: only the web layer audits refusals), and the view written as JSON; a submission without a record:
 * the team quota's counts, the archive's inspection and re-pack in memory ({@link ContextIntake#rehearse}: nothing
 * written to the store or counted), the policy over a bundled Dockerfile with its canonical text, the findings as
 * JSON; in the first {@value #RECORD_ROUNDS} rounds that submission's record, alone or with copies, in a transaction
 * that is rolled back ({@link BuildSubmissions#rehearseRecord}); a lint of it; and one liveness probe over HTTP
 * (Tomcat, the filters, the actuator, JSON). In the first {@value #HTTP_ROUNDS} rounds, requests through the web
 * server with the warm-up's own credential ({@link WarmUpPass}: valid only while this runs, only from loopback): a
 * lint of the sample's context, its submission (refused at once as a team at its quota is: a burst's most common
 * answer) and the status of an id that does not exist. What it never does: commit a build row or an audit event
 * (the credential's refusals are not audited), write a token's last use or a context file, or run ShellCheck. It
 * reads the ONBUILD triggers of its sample's base (under the first approved prefix) from the registry as a
 * submission does, cached as theirs are; if that read fails they are taken as none for the rest of the warm-up. A
 * leg that fails is logged once and left out of later rounds; the warm-up never stops the start.
 */
@Component
@Order(Ordered.LOWEST_PRECEDENCE)
class WarmUp implements ApplicationRunner {

    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
    /** The team the rehearsed submissions name (only read: its queue count, its policy settings). */
    static final String TEAM = WarmUpPass.TEAM;
    private static final String DOCKERFILE = "Dockerfile";

    /**
     * What a warm-up did: rounds, how long, what ended it, each leg's count, failed legs, and readiness meanwhile:
     * the probe's HTTP status at the first round and after the last, and the application's readiness state (what
     * the probe's {@code readinessState} member reads) at the same two moments; and where the base triggers came from.
     */
    record Report(int rounds, Duration took, String endedBy, Map<String, Integer> legs, Map<String, String> failed,
            List<Integer> readiness, List<ReadinessState> readinessStates, String baseTriggers) {
    }

    private final WarmUpProperties properties;
    private final Tokens tokens;
    private final BuildSubmissions submissions;
    private final ContextIntake intake;
    private final PolicyEvaluator policy;
    private final PolicyProperties policyProperties;
    private final io.buildgateway.hostpool.BuildHosts hosts;
    private final JsonMapper json;
    private final JdbcTemplate jdbc;
    private final ApplicationContext context;
    private final ApplicationAvailability availability;
    /** Where the rehearsed submission's base triggers are read, as a submission reads them. */
    private final io.buildgateway.hostpool.ImageRegistry registry;
    /** Why the base triggers are taken as none for the rest of a warm-up (null while they are read). */
    private volatile String triggersRefused;
    /** With {@code gateway.hostpool.base-triggers-ttl} 0, the warm-up reads the base's triggers this often at most. */
    static final int UNCACHED_TRIGGER_READS = 10;
    private int uncachedTriggerReads;
    /**
     * The rounds whose submission's record is rehearsed too, rolled back: each is a transaction on the shared database
     * that holds the audit chain's lock for a moment, while other replicas may be serving, so they are fewer than the
     * rounds. HotSpot compiles a method at tier 3 after some 200 calls; a few hundred records take a second or two.
     */
    static final int RECORD_ROUNDS = 400;
    /** How many of a rehearsal's records are made together (at most the team quota: BuildSubmissions clamps it). */
    static final int RECORDED_TOGETHER = 4;
    /**
     * The rounds that also send requests through the web server with the warm-up's own credential ({@link WarmUpPass}):
     * a lint of the sample's context (200), a submission of it (refused as at the quota: 429, the path most of a
     * burst's requests take) and the status of an id that does not exist (404). Each is a millisecond or two; C1
     * compiles a method after some 200 calls, so a few thousand leave the HTTP path compiled.
     */
    static final int HTTP_ROUNDS = 2000;
    private final WarmUpPass pass;
    private final SharedQuotaReservations shared;
    private List<String> lastTriggers = List.of();
    private volatile Report last;

    WarmUp(WarmUpProperties properties, Tokens tokens, BuildSubmissions submissions, ContextIntake intake,
            PolicyEvaluator policy, PolicyProperties policyProperties,
            io.buildgateway.hostpool.BuildHosts hosts, JsonMapper json, JdbcTemplate jdbc, ApplicationContext context,
            ApplicationAvailability availability, io.buildgateway.hostpool.ImageRegistry registry, WarmUpPass pass,
            SharedQuotaReservations shared) {
        this.shared = shared;
        this.pass = pass;
        this.availability = availability;
        this.registry = registry;
        this.properties = properties;
        this.tokens = tokens;
        this.submissions = submissions;
        this.intake = intake;
        this.policy = policy;
        this.policyProperties = policyProperties;
        this.hosts = hosts;
        this.json = json;
        this.jdbc = jdbc;
        this.context = context;
    }

    @Override
    public void run(ApplicationArguments args) {
        if (!properties.enabled()) {
            LOG.info("warm-up: off (gateway.warmup.enabled=false); readiness does not wait for one");
            return;
        }
        LOG.info("warm-up: rehearsing the request paths for at most {} or {} rounds before readiness"
                + " (gateway.warmup.*)", properties.maxDuration(), properties.rounds());
        Report report = rehearse(properties.maxDuration(), properties.rounds());
        last = report;
        LOG.info("warm-up: {} rounds in {} ms, ended by {}; {}; base triggers {}; readiness answered {} ({})"
                + " meanwhile{}", report.rounds(), report.took().toMillis(), report.endedBy(), report.legs(),
                report.baseTriggers(), report.readiness(), report.readinessStates(),
                report.failed().isEmpty() ? "" : "; left out after a failure: " + report.failed());
    }

    /** The report of the warm-up this replica ran at its start (null when it was off). */
    Report last() {
        return last;
    }

    /**
     * Rehearses the request paths until {@code maxDuration} has passed or {@code maxRounds} rounds are done. The
     * warm-up's credential is valid from here until this returns.
     */
    Report rehearse(Duration maxDuration, int maxRounds) {
        String secret = pass.open();
        try {
            return rehearse(maxDuration, maxRounds, secret);
        } finally {
            pass.close();
        }
    }

    private Report rehearse(Duration maxDuration, int maxRounds, String secret) {
        long start = System.nanoTime();
        long deadline = start + maxDuration.toNanos();
        triggersRefused = null;
        uncachedTriggerReads = 0;
        List<Sample> samples = samples();
        GatewayPrincipal reader = new GatewayPrincipal(null, "warm-up", Set.of(Role.AUDITOR), Set.of());
        List<UUID> existing = jdbc.query("select id from build limit 1", (rs, n) -> rs.getObject(1, UUID.class));
        Probe probe = Probe.of(context);
        List<Integer> readiness = new ArrayList<>();
        List<ReadinessState> states = new ArrayList<>();
        states.add(availability.getReadinessState());
        Map<String, Integer> legs = new LinkedHashMap<>();
        Map<String, String> failed = new LinkedHashMap<>();
        Rehearsed[] rehearsed = {null};
        Build[] shown = {null};
        List<Leg> plan = List.of(
                new Leg("token checks", (i, s) -> tokenCheck()),
                new Leg("status reads", (i, s) -> {
                    statusRead(existing.isEmpty() ? null : existing.get(0), reader, shown[0]);
                }),
                new Leg("submissions", (i, s) -> {
                    rehearsed[0] = submission(s);
                    shown[0] = rehearsed[0].queued();
                }),
                new Leg("records", RECORD_ROUNDS, (i, s) -> record(i, shown[0], rehearsed[0])),
                new Leg("lints", (i, s) -> lint(s)),
                new Leg("http lints", HTTP_ROUNDS, (i, s) -> expect(200,
                        web(probe).post("/api/v1/lint", secret, s.archive()), "a lint of the sample's context")),
                new Leg("http refusals", HTTP_ROUNDS, (i, s) -> {
                    HttpResponse<Void> refused = web(probe).post("/api/v1/builds?image=" + TEAM + "/warm-up&tag="
                            + "warm-up", secret, s.archive());
                    expect(429, refused, "a submission of the warm-up's own credential");
                    if (refused.headers().firstValue("Retry-After").isEmpty()) {
                        throw new IllegalStateException("the warm-up's refused submission had no Retry-After");
                    }
                }),
                new Leg("http status reads", HTTP_ROUNDS, (i, s) -> expect(404,
                        web(probe).get("/api/v1/builds/" + UUID.randomUUID(), secret), "the status of no build")),
                new Leg("probe requests", (i, s) -> {
                    if (i == 0) {
                        readiness.add(web(probe).get("/actuator/health/readiness", null).statusCode());
                    }
                    web(probe).get("/actuator/health/liveness", null);
                }));
        int round = 0;
        String endedBy = "rounds";
        for (; round < maxRounds; round++) {
            if (System.nanoTime() - deadline > 0) {
                endedBy = "time (" + maxDuration + ")";
                break;
            }
            Sample sample = samples.get(round % samples.size());
            for (Leg leg : plan) {
                if (failed.containsKey(leg.name()) || round >= leg.rounds()) {
                    continue;
                }
                try {
                    leg.body().run(round, sample);
                    legs.merge(leg.name(), 1, Integer::sum);
                } catch (RuntimeException | IOException e) {
                    failed.put(leg.name(), e.getClass().getSimpleName() + ": " + e.getMessage());
                    LOG.warn("warm-up: {} left out of the rest of the warm-up after a failure", leg.name(), e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    states.add(availability.getReadinessState());
                    return new Report(round, Duration.ofNanos(System.nanoTime() - start), "interrupt", legs, failed,
                            readiness, states, triggersSource());
                }
            }
        }
        if (probe != null && !failed.containsKey("probe requests")) {
            try {
                readiness.add(probe.get("/actuator/health/readiness", null).statusCode());
            } catch (IOException | RuntimeException e) {
                failed.put("probe requests", e.getClass().getSimpleName() + ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        states.add(availability.getReadinessState());
        return new Report(round, Duration.ofNanos(System.nanoTime() - start), endedBy, legs, failed, readiness,
                states, triggersSource());
    }

    private String triggersSource() {
        String refused = triggersRefused;
        return refused == null ? "read from the registry" : "taken as none: " + refused;
    }

    private void tokenCheck() {
        byte[] random = new byte[32];
        ThreadLocalRandom.current().nextBytes(random);
        if (tokens.authenticate(Tokens.SECRET_PREFIX + HexFormat.of().formatHex(random)).principal() != null) {
            throw new IllegalStateException("a random secret authenticated");
        }
    }

    private void statusRead(UUID existing, GatewayPrincipal reader, Build shown) {
        if (existing != null) {
            json.writeValueAsBytes(submissions.get(existing, reader));
        }
        try {
            submissions.get(UUID.randomUUID(), reader);
            throw new IllegalStateException("a random build id was found");
        } catch (Problem notFound) {
            if (notFound.status() != 404) {
                throw notFound;
            }
        }
        if (shown != null) {
            json.writeValueAsBytes(submissions.view(shown));
        }
    }

    /**
     * The record of a rehearsed submission, rolled back ({@link BuildSubmissions#rehearseRecord}): alone in even
     * rounds, {@value #RECORDED_TOGETHER} together in odd ones, as the group commit records a burst. After the first,
     * the warm-up checks that none of its rows is in the table, which would mean the rollback did not hold.
     */
    private void record(int round, Build shown, Rehearsed rehearsed) {
        List<Build> rows = new ArrayList<>();
        rows.add(shown);
        for (int n = 1; round % 2 == 1 && n < RECORDED_TOGETHER; n++) {
            rows.add(rehearsed.queued());
        }
        submissions.rehearseRecord(rows);
        if (round == 0 && jdbc.queryForObject("select count(*) from build where id = ?", Long.class, shown.id) != 0) {
            throw new IllegalStateException("a rehearsed record stayed in the build table: " + shown.id);
        }
    }

    /** A submission's path without its record; returns what it would have recorded (never saved). */
    private Rehearsed submission(Sample sample) {
        // The submission's two counts, its reservation among them (SharedQuotaReservations), ended again at once: the
        // warm-up team's row lives for these three statements, and only that team's submissions (none) would count it.
        SharedQuotaReservations.Counts counts = shared.reserve(TEAM, UUID.randomUUID());
        try {
            if (counts.queued() < 0 || counts.queuedForTeam() < 0 || shared.recount(TEAM, counts.ticket()) < 0) {
                throw new IllegalStateException("negative queue counts");
            }
        } finally {
            shared.release(counts.ticket());
        }
        Evaluation[] evaluation = {null};
        String[] dockerfile = {null};
        io.buildgateway.shared.Digest built = intake.rehearse(sample.archive(), DOCKERFILE, uploaded -> {
            dockerfile[0] = uploaded.dockerfile();
            evaluation[0] = policy.evaluate(new PolicyEvaluator.Request(uploaded.dockerfile(), Map.of(), null, TEAM,
                    TEAM + "/warm-up", uploaded.files(), this::baseTriggers, hosts.readsHeredocs(), Boolean.FALSE)
                    .withCacheNamespace(PolicyEvaluator.cacheNamespace(TEAM, null)));
            String canonical = evaluation[0].canonicalDockerfile();
            return (canonical != null ? canonical : uploaded.dockerfile()).getBytes(StandardCharsets.UTF_8);
        });
        return new Rehearsed(Instant.now().truncatedTo(ChronoUnit.MICROS), built.value(), sample.archive().length,
                json.writeValueAsString(policy.shownBuildArgs(TEAM, Map.of())), json.writeValueAsString(Map.of()),
                evaluation[0].policyDigest(), json.writeValueAsString(evaluation[0].findings()),
                json.writeValueAsString(evaluation[0].pulls()), json.writeValueAsString(policy.egress(TEAM).allow()));
    }

    /**
     * What a rehearsed submission would record. Each {@link #queued()} is a new unsaved build of it with an id of its
     * own, as the group commit records several of a team's builds at once.
     */
    private record Rehearsed(Instant requestedAt, String contextDigest, long contextSize, String buildArgs,
            String labels, String policyDigest, String findings, String allowedPulls, String egressAllow) {
        Build queued() {
            Build build = new Build(UUID.randomUUID());
            build.image = TEAM + "/warm-up";
            build.tag = "warm-up";
            build.team = TEAM;
            build.requestedBy = "warm-up";
            build.requestedAt = requestedAt;
            build.contextDigest = contextDigest;
            build.contextSize = contextSize;
            build.dockerfile = DOCKERFILE;
            build.buildArgs = buildArgs;
            build.labels = labels;
            build.policyDigest = policyDigest;
            build.findings = findings;
            build.allowedPulls = allowedPulls;
            build.egressAllow = egressAllow;
            build.builtContextDigest = contextDigest;
            build.builtContextSize = contextSize;
            build.queue();
            return build;
        }
    }

    /**
     * The rehearsal's base triggers, read from the registry as a submission reads them (its cache, its HTTP client and
     * the registry token): a submission right after readiness then finds the base's triggers read and that code run
     * (issue #17: in the load bench the first submissions waited 0.9-1.6 s for the first read). A read that fails
     * (the base is not in the registry, or the registry does not answer) makes them none for the rest of the warm-up,
     * as they were before; the warm-up never fails on it.
     */
    private List<String> baseTriggers(String ref) {
        if (triggersRefused != null) {
            return List.of();
        }
        if (!registry.reusesTriggers()) {
            // base-triggers-ttl 0: every call reads the registry; a few reads run that code, not one per round
            if (uncachedTriggerReads >= UNCACHED_TRIGGER_READS) {
                return lastTriggers;
            }
            uncachedTriggerReads++;
        }
        try {
            lastTriggers = registry.onBuildTriggers(ref);
            return lastTriggers;
        } catch (RuntimeException e) {
            triggersRefused = e.getClass().getSimpleName() + ": " + e.getMessage();
            LOG.info("warm-up: the base triggers of {} are taken as none from now on ({})", ref, triggersRefused);
            return List.of();
        }
    }

    private void lint(Sample sample) {
        policy.lint(new PolicyEvaluator.Request(sample.dockerfile(), Map.of(), null, null, null, null, null,
                hosts.readsHeredocs(), Boolean.FALSE));
    }

    /** The bundled Dockerfiles (classpath warmup/), and one like a small CI build from an approved base. */
    private List<Sample> samples() {
        List<Sample> samples = new ArrayList<>();
        String base = policyProperties.approvedBasePrefixes().isEmpty() ? hosts.registry() + "/base/"
                : policyProperties.approvedBasePrefixes().get(0);
        samples.add(Sample.of("FROM " + base + "busybox\nRUN echo warm-up > /warm-up.txt\nUSER 65534\n"));
        try {
            for (Resource r : new PathMatchingResourcePatternResolver(getClass().getClassLoader())
                    .getResources("classpath*:warmup/*.Dockerfile")) {
                try (var in = r.getInputStream()) {
                    samples.add(Sample.of(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                }
            }
        } catch (IOException e) {
            LOG.warn("warm-up: the bundled Dockerfiles could not be read; only the built-in one is used", e);
        }
        return samples;
    }

    /** A Dockerfile and a context of it with a few files, as a client would send it. */
    record Sample(String dockerfile, byte[] archive) {
        static Sample of(String dockerfile) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
                put(tar, DOCKERFILE, dockerfile.getBytes(StandardCharsets.UTF_8));
                put(tar, "requirements.txt", "flask==3.0.3\n".getBytes(StandardCharsets.UTF_8));
                put(tar, "app/main.py", "print('warm-up')\n".getBytes(StandardCharsets.UTF_8));
                put(tar, "package.json", "{\"name\":\"warm-up\"}\n".getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new Sample(dockerfile, out.toByteArray());
        }

        private static void put(TarArchiveOutputStream tar, String name, byte[] content) throws IOException {
            TarArchiveEntry entry = new TarArchiveEntry(name);
            entry.setSize(content.length);
            entry.setMode(0644);
            tar.putArchiveEntry(entry);
            tar.write(content);
            tar.closeArchiveEntry();
        }
    }

    /** A leg of each round, or of the first {@code rounds} only. */
    private record Leg(String name, int rounds, Body body) {
        Leg(String name, Body body) {
            this(name, Integer.MAX_VALUE, body);
        }
    }

    @FunctionalInterface
    private interface Body {
        void run(int round, Sample sample) throws IOException, InterruptedException;
    }

    /** The response's status was {@code status}, or the leg fails naming what was sent. */
    private static void expect(int status, HttpResponse<Void> response, String what) {
        if (response.statusCode() != status) {
            throw new IllegalStateException(what + " was answered " + response.statusCode() + ", not " + status);
        }
    }

    private static Probe web(Probe probe) {
        if (probe == null) {
            throw new IllegalStateException("no web server port to send requests to");
        }
        return probe;
    }

    /**
     * Requests to this replica's own HTTP port on loopback, over HTTP/1.1 as CI clients send them: the probes (open)
     * and the API's requests with the warm-up's credential ({@link WarmUpPass}).
     */
    private record Probe(HttpClient http, String base) {
        static Probe of(ApplicationContext context) {
            if (!(context instanceof WebServerApplicationContext web) || web.getWebServer() == null
                    || web.getWebServer().getPort() <= 0) {
                return null;
            }
            return new Probe(HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(2)).build(), "http://127.0.0.1:" + web.getWebServer().getPort());
        }

        HttpResponse<Void> get(String path, String secret) throws IOException, InterruptedException {
            return send(request(path, secret).GET());
        }

        HttpResponse<Void> post(String path, String secret, byte[] context) throws IOException, InterruptedException {
            return send(request(path, secret).header("Content-Type", "application/x-tar")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(context)));
        }

        private HttpRequest.Builder request(String path, String secret) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(5));
            return secret == null ? b : b.header("Authorization", "Bearer " + secret);
        }

        private HttpResponse<Void> send(HttpRequest.Builder request) throws IOException, InterruptedException {
            return http.send(request.build(), HttpResponse.BodyHandlers.discarding());
        }
    }
}
