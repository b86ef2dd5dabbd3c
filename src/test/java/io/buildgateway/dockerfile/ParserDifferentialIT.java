package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import com.github.dockerjava.transport.DockerHttpClient;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The daemon is the oracle: the classic builder of the user-namespaced dockerd 20.10 prints every instruction it
 * parsed as "Step i/N : …" (N counts them all; each step is printed before it runs). For generated Dockerfiles full
 * of parser corners, for the corpus, and for the canonical text the gateway writes, the daemon's list must be the
 * gateway's parse. Builds run with network none and only cheap instructions; a step that fails ends the list there,
 * so for those files N and every step reached are compared.
 *
 * <p>This is the classic builder's judgement (dockerd 26 without {@code version=2}: BuildKit's parser, the classic
 * builder's steps). The build hosts build with BuildKit: {@code policy.BuildKitMutationsIT} builds a seeded sample
 * of the same generated mutations through BuildKit and judges them by its steps and the image's configuration, with
 * BuildKit as the truth where the builders differ (heredocs).
 */
class ParserDifferentialIT {

    private static final Pattern STEP = Pattern.compile("Step (\\d+)/(\\d+) : (.*)", Pattern.DOTALL);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int DAEMON_BUILDS = 3;
    private static DockerHttpClient docker;
    private static String registry;
    private static String base;
    /**
     * Whether the daemon's parser reads heredocs even for the classic builder: dockerd 23 and newer parse with
     * BuildKit's Dockerfile parser for both builders (the build hosts run dockerd 26); dockerd 20.10 does not.
     */
    private static boolean daemonReadsHeredocs;

    @BeforeAll
    static void connect() throws IOException {
        registry = IntegrationTest.registryAddress();
        base = registry + "/base/busybox";
        DockerClientConfig config = DefaultDockerClientConfig.createDefaultConfigBuilder()
                .withDockerHost(IntegrationTest.require("BGW_DOCKER_HOST")).build();
        docker = new ApacheDockerHttpClient.Builder().dockerHost(config.getDockerHost())
                .connectionTimeout(Duration.ofSeconds(5)).responseTimeout(Duration.ofSeconds(60)).build();
        DockerHttpClient.Request version = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.GET).path("/version").build();
        try (DockerHttpClient.Response response = docker.execute(version)) {
            String engine = JSON.readTree(response.getBody()).path("Version").asString("0");
            daemonReadsHeredocs = Integer.parseInt(engine.replaceAll("\\..*$", "")) >= 23;
        }
    }

    @AfterAll
    static void close() throws IOException {
        docker.close();
    }

    /** What the daemon reported: N (-1 when it printed no step), the steps' text, and its error if any. */
    record Run(int total, List<String> steps, String error) {
    }

    static Run build(String dockerfile, Map<String, String> buildArgs) throws IOException {
        Tars context = Tars.tar().file("Dockerfile", dockerfile);
        for (String f : DockerfileMutations.CONTEXT_FILES) {
            context.file(f, "content of " + f + "\n");
        }
        String args = URLEncoder.encode(JSON.writeValueAsString(buildArgs), StandardCharsets.UTF_8);
        DockerHttpClient.Request request = DockerHttpClient.Request.builder()
                .method(DockerHttpClient.Request.Method.POST)
                .path("/v1.41/build?networkmode=none&rm=1&forcerm=1&buildargs=" + args)
                .headers(Map.of("Content-Type", "application/x-tar"))
                .body(new ByteArrayInputStream(context.bytes())).build();
        StringBuilder stream = new StringBuilder();
        String error = null;
        try (DockerHttpClient.Response response = docker.execute(request);
                BufferedReader lines = new BufferedReader(new InputStreamReader(response.getBody(),
                        StandardCharsets.UTF_8))) {
            if (response.getStatusCode() != 200) {
                return new Run(-1, List.of(), new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8));
            }
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.isBlank()) {
                    continue; // messages end with \r\n; JSON escapes every \r inside them
                }
                JsonNode message = JSON.readTree(line);
                if (message.has("stream")) {
                    stream.append(message.path("stream").asString());
                }
                if (message.has("error")) {
                    error = message.path("error").asString();
                }
            }
        }
        int total = -1;
        List<String> steps = new ArrayList<>();
        for (String line : stream.toString().split("\n")) {
            // After its warnings (empty continuation lines) the daemon resets the terminal colour: ESC[0m.
            Matcher m = STEP.matcher(line.replaceFirst("^(\u001b\\[[0-9;]*m)+", ""));
            if (m.matches()) {
                assertThat(Integer.parseInt(m.group(1))).as(stream.toString()).isEqualTo(steps.size() + 1);
                total = Integer.parseInt(m.group(2));
                steps.add(m.group(3));
            }
        }
        return new Run(total, steps, error);
    }

    private static List<String> originals(Dockerfile d) {
        return d.instructions().stream().map(Instruction::original).toList();
    }

    /**
     * The daemon read {@code text} as the gateway did: both refuse it (the daemon before its first step), or N is
     * the number of instructions and every step the daemon reached is the gateway's instruction at that place.
     */
    private static void assertSameReading(String what, String text, Dockerfile gateway, Run daemon) {
        String context = what + "\n" + text.replace("\r", "\\r").replace("\f", "\\f") + "\ndaemon: " + daemon
                + "\ngateway: " + originals(gateway) + " " + gateway.errors();
        if (daemon.total() < 0) {
            // Refused by the gateway too: a syntax error, or no canonical text for the classic builder (a flag it
            // does not know; or a line like `HEALTHCHECK NONE \<FF>`, which both read alike and the daemon then
            // finds an argument too many in, while the writer refuses its trailing escape).
            boolean noCanonical = CanonicalDockerfile.write(gateway, false).text() == null;
            assertThat(!gateway.errors().isEmpty() || noCanonical)
                    .as("the daemon refused it before any step; the gateway did not: " + context).isTrue();
            return;
        }
        // The one refusal on purpose of what the daemon reads: a JSON array followed by text (it ignores the text).
        assertThat(gateway.errors()).as(context)
                .allMatch(e -> e.message().contains("text after the JSON array"));
        assertThat(daemon.total()).as(context).isEqualTo(gateway.instructions().size());
        assertThat(daemon.steps()).as(context)
                .isEqualTo(originals(gateway).subList(0, daemon.steps().size()));
    }

    /** The canonical text, built: the daemon runs exactly the instructions the policy saw. */
    private static void assertCanonicalRunsWhatThePolicySaw(String what, Dockerfile policyView, String canonical,
            Map<String, String> buildArgs) throws IOException {
        assertCanonicalRunsWhatThePolicySaw(what, policyView, canonical, build(canonical, buildArgs));
    }

    private static void assertCanonicalRunsWhatThePolicySaw(String what, Dockerfile policyView, String canonical,
            Run daemon) {
        String context = what + "\ncanonical:\n" + canonical + "\ndaemon: " + daemon;
        assertThat(daemon.total()).as(context).isEqualTo(policyView.instructions().size());
        assertThat(daemon.steps()).as(context).isEqualTo(originals(policyView).subList(0, daemon.steps().size()));
    }

    @Test
    void generatedMutationsReadAsTheDaemonReadsThem() throws Exception {
        record Planned(DockerfileMutations.Case c, Dockerfile classic, Dockerfile policyView, String canonical,
                boolean buildCanonical) {
        }
        List<Planned> plan = new ArrayList<>();
        int canonicalBuilt = 0;
        for (DockerfileMutations.Case c : DockerfileMutations.generate(7_000, 150, base, 1)) {
            // The policy reads heredocs as BuildKit would; without one, that is the classic reading.
            Dockerfile policyView = DockerfileParser.parse(c.text());
            String canonical = CanonicalDockerfile.write(policyView, false).text();
            // half of them: the canonical form is also checked by the unit tests
            boolean buildCanonical = canonical != null && canonicalBuilt++ % 2 == 0;
            plan.add(new Planned(c, DockerfileParser.parse(c.text(), daemonReadsHeredocs), policyView, canonical,
                    buildCanonical));
        }
        List<Run[]> runs = onTheDaemon(plan, p -> new Run[] {build(p.c().text(), Map.of()),
                p.buildCanonical() ? build(p.canonical(), Map.of()) : null});
        int refusedByBoth = 0;
        int fullyRun = 0;
        for (int i = 0; i < plan.size(); i++) {
            Planned p = plan.get(i);
            Run daemon = runs.get(i)[0];
            assertSameReading(p.c().toString(), p.c().text(), p.classic(), daemon);
            if (daemon.total() < 0) {
                refusedByBoth++;
            } else if (daemon.error() == null) {
                fullyRun++;
            }
            if (p.canonical() != null) {
                assertThat(p.policyView().instructions()).hasSameSizeAs(p.classic().instructions());
                assertThat(originals(p.policyView())).isEqualTo(originals(p.classic()));
                if (p.buildCanonical()) {
                    assertCanonicalRunsWhatThePolicySaw(p.c().toString(), p.policyView(), p.canonical(),
                            runs.get(i)[1]);
                }
            }
        }
        assertThat(canonicalBuilt).as("canonical texts built").isGreaterThan(10);
        assertThat(fullyRun).as("builds that ran every step").isGreaterThan(10);
        assertThat(refusedByBoth).as("files both refused").isPositive();
    }

    interface DaemonWork<T, R> {
        R run(T input) throws IOException;
    }

    /**
     * Runs {@code work} for every input on the daemon, {@value #DAEMON_BUILDS} builds at once (each build is
     * independent: its own context, no tag), and returns the results in the inputs' order. Most of a classic build's
     * time is the daemon creating and removing a container per step, so a few at once shorten the suite without
     * changing what is compared; a failure inside one is rethrown as it was.
     */
    static <T, R> List<R> onTheDaemon(List<T> inputs, DaemonWork<T, R> work) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(DAEMON_BUILDS);
        try {
            List<Future<R>> futures = new ArrayList<>();
            for (T input : inputs) {
                futures.add(pool.submit(() -> work.run(input)));
            }
            List<R> results = new ArrayList<>();
            for (Future<R> f : futures) {
                try {
                    results.add(f.get());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Error error) {
                        throw error;
                    }
                    throw (Exception) e.getCause();
                }
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The corpus, with its registry pointed at the test registry so that the busybox and debian bases resolve (the
     * same bytes go to the daemon and to the parser). Stages on other bases stop at their FROM; RUN steps that need
     * the network fail: then N and the steps reached are compared.
     */
    @Test
    void theCorpusReadsAsTheDaemonReadsIt() throws Exception {
        List<Path> files;
        try (Stream<Path> list = Files.list(Path.of("src/test/resources/corpus"))) {
            files = list.sorted().toList();
        }
        record Read(String text, Run daemon, Run canonical) {
        }
        List<Read> reads = onTheDaemon(files, file -> {
            String text = Files.readString(file, StandardCharsets.UTF_8).replace("127.0.0.1:5000", registry);
            Run daemon = build(text, Map.of());
            String canonical = CanonicalDockerfile.write(DockerfileParser.parse(text), false).text();
            return new Read(text, daemon,
                    canonical != null && daemon.total() >= 0 ? build(canonical, Map.of()) : null);
        });
        int stepsCompared = 0;
        int canonicalBuilt = 0;
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            String text = reads.get(i).text();
            Run daemon = reads.get(i).daemon();
            Dockerfile classic = DockerfileParser.parse(text, daemonReadsHeredocs);
            assertSameReading(file.getFileName().toString(), text, classic, daemon);
            stepsCompared += daemon.steps().size();
            Dockerfile policyView = DockerfileParser.parse(text);
            boolean hasHeredoc = policyView.instructions().stream().anyMatch(ins -> !ins.heredocs().isEmpty());
            CanonicalDockerfile.Result canonical = CanonicalDockerfile.write(policyView, false);
            boolean classicFlags = policyView.instructions().stream().allMatch(ins -> ins.flags().stream().allMatch(
                    f -> CanonicalDockerfile.CLASSIC_FLAGS.getOrDefault(ins.keyword(), java.util.Set.of())
                            .contains(f.name())));
            assertThat(canonical.text() == null).as(file + " " + canonical.problems())
                    .isEqualTo(hasHeredoc || !policyView.errors().isEmpty() || !classicFlags || daemon.total() < 0);
            if (canonical.text() != null && daemon.total() >= 0) {
                canonicalBuilt++;
                assertCanonicalRunsWhatThePolicySaw(file.toString(), policyView, canonical.text(),
                        reads.get(i).canonical());
            }
        }
        assertThat(stepsCompared).isGreaterThan(files.size());
        assertThat(canonicalBuilt).isGreaterThan(files.size() / 2);
    }

    /** The differentials of issue #11, and what the canonical text makes the daemon do. */
    @Test
    void theIssuesDifferentialsAreGoneAndTheCanonicalTextRunsWhatThePolicySaw() throws IOException {
        List<String> cases = List.of(
                // an unknown directive before escape: the daemon keeps \, so `USER root` is an instruction
                "# check=skip=all\n# escape=`\nFROM " + base + "\nENV A=x`\nUSER root\n",
                // a heredoc opener inside quotes opens nothing: `USER root` runs
                "FROM " + base + "\nRUN true \"<<EOF\"\nUSER root\nLABEL EOF=1\n",
                // an escape then a form feed is no continuation: `USER root` is its own instruction
                "FROM " + base + "\nLABEL a=1 \\\f\nUSER root\n",
                // a lone CR is no line end; comments inside continuations; CRLF and a BOM
                "\uFEFF# syntax=docker/dockerfile:1\r\nFROM " + base + "\r\nLABEL a=\"x\ry\"\r\nENV A=1 \\\r\n# c\r\n\r\n"
                        + "  B=2\r\nUSER root\r\n");
        for (String text : cases) {
            Dockerfile policyView = DockerfileParser.parse(text);
            assertThat(originals(policyView)).contains("USER root");
            Run daemon = build(text, Map.of());
            assertSameReading("differential", text, DockerfileParser.parse(text, daemonReadsHeredocs), daemon);
            assertThat(daemon.steps()).contains("USER root");
            CanonicalDockerfile.Result canonical = CanonicalDockerfile.write(policyView, false);
            if (text.contains("\f") || text.contains("\"x\ry\"")) {
                // not expressible on a line of its own: refused with a finding, never sent
                assertThat(canonical.text()).isNull();
                assertThat(canonical.problems()).isNotEmpty();
            } else {
                assertCanonicalRunsWhatThePolicySaw("differential", policyView, canonical.text(), Map.of());
            }
        }
    }
    /**
     * The red team's cases B1..B4: the daemon reads a URL source in each (it tries to download it: nothing listens
     * there, so its error names the address); the gateway reads the URL too, or refuses the file (B3).
     */
    @Test
    void theRedTeamsArgumentSplitsAreTheDaemons() throws IOException {
        String url = "http://127.0.0.1:8099/";
        Map<String, String> cases = new java.util.LinkedHashMap<>();
        cases.put("B1", "FROM " + base + "\nADD f1.txt\\ " + url + "esc /x\n");
        cases.put("B2", "FROM " + base + "\nENV U\t" + url + "tab\nADD $U /x\n");
        cases.put("B4", "FROM " + base + "\nENV A=x\u00A0U=" + url + "nbsp\nADD $U /x\n");
        cases.put("B3", "FROM " + base + "\nADD [\"" + url + "json\",\"/x\"]\"z\"\n");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            String text = c.getValue();
            Run daemon = build(text, Map.of());
            assertThat(daemon.error()).as(c.getKey() + ": " + daemon).contains("127.0.0.1:8099");
            Dockerfile gateway = DockerfileParser.parse(text);
            Instruction add = gateway.instructions().get(gateway.instructions().size() - 1);
            switch (c.getKey()) {
                case "B1" -> assertThat(add.words('\\')).contains(url + "esc");
                case "B3" -> assertThat(gateway.errors()).isNotEmpty();
                default -> {
                    Instruction env = gateway.instructions().get(1);
                    assertThat(String.join("|", env.words('\\'))).as(c.getKey()).contains(url);
                }
            }
            if (!c.getKey().equals("B3")) {
                assertSameReading(c.getKey(), text, DockerfileParser.parse(text, daemonReadsHeredocs), daemon);
            }
        }
    }
}
