package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.policy.ImagePolicy;
import io.buildgateway.scanning.compliance.ComplianceResult;
import io.buildgateway.scanning.compliance.OpenScap;
import io.buildgateway.scanning.compliance.RuleResult;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The root filesystem OpenSCAP now gets (the image's layers from {@code docker save}, through the layer cache, laid
 * out as a hard-link view) against the one it got before (a created container's {@code docker export}, extracted by
 * {@link RootfsReader}), on the real build host's images: the same names, types, modes (setuid included), owners,
 * sizes and link targets, and the same OpenSCAP rule results from the real oscap. The images cover a plain base, a
 * derived image that deletes files (whiteouts), replaces a directory (an opaque directory), adds a setuid binary and
 * breaks the baseline, and one built on that (three layers of changes over a cached base).
 */
class LayerRootfsEquivalenceIT {

    private static final String PROFILE = "xccdf_io.buildgateway_profile_baseline";
    private static String host;
    private static String registry;
    private static Path tmp;
    private static LayerCache cache;
    private static OpenScap oscap;

    @BeforeAll
    static void setUp() throws Exception {
        // The real environment is what this test is about: without it, it fails (IntegrationTest.require says how
        // to get it), never a silent skip.
        host = io.buildgateway.support.IntegrationTest.require("BGW_DOCKER_HOST");
        registry = io.buildgateway.support.IntegrationTest.require("BGW_REGISTRY");
        oscap = new OpenScap("oscap", Path.of("config/compliance"), PROFILE, Duration.ofMinutes(3));
        assertThat(oscap.available()).as("oscap is not installed: scripts/env.sh install test installs"
                + " openscap-scanner").isTrue();
        tmp = Files.createTempDirectory("layer-rootfs-it-");
        cache = new LayerCache(tmp.resolve("layers"), Long.MAX_VALUE);
        build("equiv-derived", "FROM " + registry + "/base/debian:12\n"
                + "RUN rm /etc/debian_version /usr/bin/chage && rm -rf /usr/share/doc && mkdir -p /usr/share/doc "
                + "&& echo replaced > /usr/share/doc/README && cp /bin/true /usr/local/bin/suid-true "
                + "&& chmod 4755 /usr/local/bin/suid-true && echo 'backdoor:x:0:0::/root:/bin/sh' >> /etc/passwd\n");
        build("equiv-derived2", "FROM equiv-derived\nRUN rm -rf /usr/share/doc && mkdir /usr/share/doc "
                + "&& ln -s /etc/passwd /usr/share/doc/passwd-link && ln /usr/local/bin/suid-true /usr/local/bin/hl\n");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (tmp != null) {
            docker("rmi", "-f", "equiv-derived2", "equiv-derived");
            LayerCache.deleteTree(tmp);
        }
    }

    private static void build(String tag, String dockerfile) throws Exception {
        Path context = Files.createDirectories(tmp.resolve("ctx-" + tag));
        Files.writeString(context.resolve("Dockerfile"), dockerfile);
        docker("build", "--network", "none", "-q", "-t", tag, context.toString());
    }

    private static String docker(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("docker", "-H", host));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("DOCKER_BUILDKIT", "0");
        if (System.getenv("BGW_DOCKER_CONFIG") != null) {
            builder.environment().put("DOCKER_CONFIG", System.getenv("BGW_DOCKER_CONFIG"));
        }
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
        return out.strip();
    }

    /** Streams a docker command's standard output to the reader. */
    private static void dockerStream(BuiltStream reader, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("docker", "-H", host));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (InputStream in = p.getInputStream()) {
            reader.read(in);
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        assertThat(p.waitFor()).as(String.join(" ", command)).isZero();
    }

    @FunctionalInterface
    interface BuiltStream {
        void read(InputStream in) throws IOException;
    }

    private static List<String> diffIds(String image) throws Exception {
        String ids = docker("image", "inspect", "--format", "{{range .RootFS.Layers}}{{println .}}{{end}}", image);
        return ids.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /** The old path: a created container's export, extracted. */
    private static Path exported(String image) throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("export-" + image));
        // The id is the last line: on a fresh host `docker create` first prints its pull's progress (merged output).
        String created = docker("create", image, "/bin/true");
        String container = created.substring(created.lastIndexOf('\n') + 1).strip();
        try {
            dockerStream(in -> new RootfsReader().read(in, rootfs), "export", container);
        } finally {
            docker("rm", "-f", container);
        }
        return rootfs;
    }

    /** The new path: the save stream through the audit and the capture, then a view of the cached layers. */
    private static Path fromLayers(String image) throws Exception {
        try (LayerCache.Capture capture = cache.capture(tmp.resolve("scratch-" + image), false)) {
            dockerStream(in -> new LayerAudit(ImagePolicy.DEFAULT).read(in, capture), "save", image);
            assertThat(capture.missing()).isEmpty();
            capture.store(ScanBudget.unlimited());
        }
        List<String> chain = diffIds(image);
        Path rootfs = Files.createDirectories(tmp.resolve("view-" + image));
        try (LayerCache.Lease lease = cache.lease(chain)) {
            new RootfsView().build(cache, chain, rootfs, ScanBudget.unlimited());
        }
        return rootfs;
    }

    /** Every name under the root with its type, mode, owner, size and link target. */
    private static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size", LinkOption.NOFOLLOW_LINKS);
                int mode = (int) a.get("mode");
                boolean link = Files.isSymbolicLink(p);
                boolean dir = !link && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
                out.put("/" + root.relativize(p), String.format("%s %04o %s:%s %s%s", link ? "l" : dir ? "d" : "f",
                        link ? 0 : mode & 07777, a.get("uid"), a.get("gid"), dir || link ? "-" : a.get("size"),
                        link ? " -> " + Files.readSymbolicLink(p) : ""));
            }
        }
        return out;
    }

    private static List<String> rules(ComplianceResult r) {
        return r.rules().stream().map(RuleResult::ruleId).toList().stream()
                .map(id -> id + "=" + r.rules().stream().filter(x -> x.ruleId().equals(id)).findFirst()
                        .map(RuleResult::result).orElse("?"))
                .toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"base/debian:12", "base/busybox:latest", "equiv-derived", "equiv-derived2"})
    void theLayerViewIsTheExportedFilesystemAndOpenScapSaysTheSame(String name) throws Exception {
        String image = name.startsWith("base/") ? registry + "/" + name : name;
        Path old = exported(image);
        Path view = fromLayers(image);

        Map<String, String> expected = describe(old);
        Map<String, String> actual = describe(view);
        expected.remove("/"); // the root folder itself: made by the test on both sides
        actual.remove("/");
        // The export holds what a created container adds (/.dockerenv, mount points the daemon makes); the image's
        // layers do not. Everything else must be the same.
        for (String added : List.of("/.dockerenv", "/dev/console",
                "/dev/pts", "/dev/shm", "/proc", "/sys", "/dev", "/etc/mtab")) {
            if (!actual.containsKey(added)) {
                expected.remove(added);
            }
        }
        // The container's init layer puts empty placeholders (mode 0755) where the daemon mounts these at run time,
        // over the image's own files if it has them; the layers hold only the image's own.
        for (String placeholder : List.of("/etc/hostname", "/etc/hosts", "/etc/resolv.conf")) {
            expected.remove(placeholder);
            actual.remove(placeholder);
        }
        List<String> differences = new ArrayList<>();
        for (String k : expected.keySet()) {
            if (!expected.get(k).equals(actual.get(k))) {
                differences.add(k + ": export " + expected.get(k) + ", layers " + actual.get(k));
            }
        }
        actual.keySet().stream().filter(k -> !expected.containsKey(k))
                .forEach(k -> differences.add(k + ": export none, layers " + actual.get(k)));
        assertThat(differences).as(image + " (" + expected.size() + " names)").isEmpty();
        assertThat(expected.size()).isGreaterThan(100);

        ComplianceResult before = oscap.evaluate(old);
        ComplianceResult now = oscap.evaluate(view);
        System.out.printf("%s: export %s, layers %s%n", image, before.status(), now.status());
        assertThat(now.status()).as(image + ": " + now.message()).isEqualTo(before.status());
        assertThat(rules(now)).as(image).isEqualTo(rules(before)).isNotEmpty();
        if (name.startsWith("equiv-")) {
            assertThat(now.status()).isEqualTo(ComplianceResult.Status.FAILED); // the backdoor and the setuid copy
        }
    }
}
