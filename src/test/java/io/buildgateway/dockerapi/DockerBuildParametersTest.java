package io.buildgateway.dockerapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class DockerBuildParametersTest {

    private static final String REGISTRY = "registry.internal:5000";

    /** The query the Docker 28 CLI's classic builder sends for `docker build -t payments/app:1.0 .`. */
    private static Map<String, String[]> cliDefaults() {
        Map<String, String[]> q = new LinkedHashMap<>();
        q.put("t", new String[] {"payments/app:1.0"});
        q.put("buildargs", new String[] {"{}"});
        q.put("cachefrom", new String[] {"null"});
        q.put("cgroupparent", new String[] {""});
        q.put("cpuperiod", new String[] {"0"});
        q.put("cpuquota", new String[] {"0"});
        q.put("cpusetcpus", new String[] {""});
        q.put("cpusetmems", new String[] {""});
        q.put("cpushares", new String[] {"0"});
        q.put("dockerfile", new String[] {"Dockerfile"});
        q.put("labels", new String[] {"{}"});
        q.put("memory", new String[] {"0"});
        q.put("memswap", new String[] {"0"});
        q.put("networkmode", new String[] {"default"});
        q.put("rm", new String[] {"1"});
        q.put("shmsize", new String[] {"0"});
        q.put("target", new String[] {""});
        q.put("ulimits", new String[] {"null"});
        q.put("version", new String[] {"1"});
        return q;
    }

    private static DockerBuildParameters.Parsed parse(Map<String, String[]> q) {
        return DockerBuildParameters.parse(q, REGISTRY, "linux/amd64");
    }

    @Test
    void acceptsWhatTheCliSendsWhenNoOptionIsSet() {
        DockerBuildParameters.Parsed parsed = parse(cliDefaults());

        assertThat(parsed.parameters().keySet()).containsExactly("image", "tag", "dockerfile");
        assertThat(parsed.parameters().get("image")).containsExactly("payments/app");
        assertThat(parsed.parameters().get("tag")).containsExactly("1.0");
    }

    @Test
    void translatesBuildArgsLabelsTargetAndNoCache() {
        Map<String, String[]> q = cliDefaults();
        q.put("buildargs", new String[] {"{\"VERSION\":\"1.2\",\"UNSET\":null}"});
        q.put("labels", new String[] {"{\"org.example.owner\":\"payments\"}"});
        q.put("target", new String[] {"runtime"});
        q.put("nocache", new String[] {"1"});
        q.put("dockerfile", new String[] {"build/Dockerfile.prod"});

        Map<String, String[]> p = parse(q).parameters();

        assertThat(p.get("buildArg")).containsExactly("VERSION=1.2");
        assertThat(p.get("label")).containsExactly("org.example.owner=payments");
        assertThat(p.get("target")).containsExactly("runtime");
        assertThat(p.get("noCache")).containsExactly("true");
        assertThat(p.get("dockerfile")).containsExactly("build/Dockerfile.prod");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "networkmode|host|--network",
        "cpusetcpus|0-1|--cpuset-cpus",
        "cgroupparent|/system|--cgroup-parent",
        "securityopt|seccomp=unconfined|--security-opt",
        "isolation|hyperv|--isolation",
        "extrahosts|metadata:169.254.169.254|--add-host",
        "remote|https://example.com/ctx.tar|a remote context",
        "ulimits|[{\"Name\":\"nofile\",\"Hard\":1,\"Soft\":1}]|--ulimit",
        "outputs|[{\"Type\":\"local\"}]|--output",
        "squash|1|--squash",
        "memory|1073741824|--memory",
        "cachefrom|[\"evil/cache\"]|--cache-from",
    })
    void refusesHostLevelOptions(String parameter, String value, String flag) {
        Map<String, String[]> q = cliDefaults();
        q.put(parameter, new String[] {value});

        assertThatThrownBy(() -> parse(q)).isInstanceOf(DockerBuildParameters.Refused.class)
                .hasMessageContaining(flag);
    }

    @Test
    void refusesAnotherPlatformAndAcceptsTheHosts() {
        Map<String, String[]> q = cliDefaults();
        q.put("platform", new String[] {"linux/amd64"});
        assertThat(parse(q).parameters()).containsKey("image");

        q.put("platform", new String[] {"linux/arm64"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("--platform linux/arm64")
                .hasMessageContaining("linux/amd64 only");
        q.put("platform", new String[] {"Windows/AMD64/v8"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("--platform Windows/AMD64/v8 is not accepted");
    }

    /**
     * A value that is no platform of known words is refused without being quoted: the refusal is echoed and kept in
     * the audit trail, and the value may be anything pasted (a review's finding, 2026-12-07: cut at 80 characters,
     * it was quoted).
     */
    @Test
    void refusesAnUnknownPlatformWithoutQuotingIt() {
        for (String value : List.of("linux/ghp_s3cr3tToken", "s3cr3t", "linux/amd64 s3cr3t", "linux/amd64/s3cr3t",
                "linux/arm64,linux/s3cr3t", "linux/amd64\ns3cr3t")) {
            Map<String, String[]> q = cliDefaults();
            q.put("platform", new String[] {value});
            assertThatThrownBy(() -> parse(q)).as(value)
                    .hasMessageContaining("--platform (platform) is not accepted")
                    .hasMessageContaining("linux/amd64 only").hasMessageNotContaining("s3cr3t");
        }
    }

    /** -t is named, never quoted, in its refusals: another registry's host or a digest may carry anything. */
    @Test
    void refusesATagWithoutQuotingIt() {
        for (String value : List.of("bob:s3cr3t@ghcr.io/payments/app:1", "ghcr.io/payments/s3cr3t:1",
                REGISTRY + "/localhost/s3cr3t", "payments/s3cr3t@sha256:" + "a".repeat(64))) {
            Map<String, String[]> q = cliDefaults();
            q.put("t", new String[] {value});
            assertThatThrownBy(() -> parse(q)).as(value).isInstanceOfSatisfying(DockerBuildParameters.Refused.class,
                    r -> assertThat(r.reasons()).singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                            .startsWith("-t (t) ").doesNotContain("s3cr3t"));
        }
    }

    /**
     * A parameter read as one value and given twice is refused: the last of two used to win, so a second version or
     * platform slipped past the check of the first, and a second buildargs dropped the first's args.
     */
    @Test
    void aSingleValuedParameterGivenTwiceIsRefused() {
        for (String[] pair : List.of(new String[] {"version", "2", "1"}, new String[] {"platform", "linux/arm64",
                "linux/amd64"}, new String[] {"buildargs", "{\"A\":\"1\"}", "{\"B\":\"2\"}"},
                new String[] {"dockerfile", "a/Dockerfile", "Dockerfile"})) {
            Map<String, String[]> q = cliDefaults();
            q.put(pair[0], new String[] {pair[1], pair[2]});
            assertThatThrownBy(() -> parse(q)).as(pair[0]).isInstanceOfSatisfying(DockerBuildParameters.Refused.class,
                    r -> assertThat(r.reasons()).anySatisfy(reason -> assertThat(reason)
                            .startsWith(pair[0] + " is given more than once")));
        }
    }

    /** A key with '=' would be read as another key (A=B:c as the arg A with B=c): refused, the key not quoted. */
    @Test
    void aKeyWithAnEqualsSignIsRefusedWithoutQuotingIt() {
        Map<String, String[]> q = cliDefaults();
        q.put("buildargs", new String[] {"{\"A=s3cr3t\":\"c\"}"});
        q.put("labels", new String[] {"{\"x=s3cr3t\":\"c\"}"});
        assertThatThrownBy(() -> parse(q)).isInstanceOfSatisfying(DockerBuildParameters.Refused.class,
                r -> assertThat(r.reasons()).hasSize(2).allSatisfy(reason -> assertThat(reason)
                        .contains("a key with '=' in it").doesNotContain("s3cr3t")));
    }

    @Test
    void reportsEveryRefusedOptionAtOnce() {
        Map<String, String[]> q = cliDefaults();
        q.put("networkmode", new String[] {"host"});
        q.put("securityopt", new String[] {"apparmor=unconfined"});

        assertThatThrownBy(() -> parse(q)).isInstanceOfSatisfying(DockerBuildParameters.Refused.class,
                r -> assertThat(r.reasons()).hasSize(2));
    }

    @Test
    void namesTheImageWithOrWithoutTheGatewaysRegistry() {
        Map<String, String[]> q = cliDefaults();
        q.put("t", new String[] {REGISTRY + "/payments/app"});
        Map<String, String[]> p = parse(q).parameters();
        assertThat(p.get("image")).containsExactly("payments/app");
        assertThat(p).doesNotContainKey("tag");

        q.put("t", new String[] {"ghcr.io/payments/app:1"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("pushes to " + REGISTRY + " only");

        // After the gateway's own address, another host as the first part is still another registry.
        q.put("t", new String[] {REGISTRY + "/ghcr.io/payments/app:1"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("pushes to " + REGISTRY + " only");
        q.put("t", new String[] {REGISTRY + "/localhost/payments/app"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("pushes to " + REGISTRY + " only");
    }

    @Test
    void needsExactlyOneNameWithoutDigest() {
        Map<String, String[]> q = cliDefaults();
        q.remove("t");
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("-t <team>/<name>");

        q.put("t", new String[] {"payments/app:1", "payments/app:latest"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("give one -t");

        q.put("t", new String[] {"payments/app@sha256:" + "a".repeat(64)});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("digest");
    }

    @Test
    void refusesBuildKitAndMalformedJson() {
        Map<String, String[]> q = cliDefaults();
        q.put("version", new String[] {"2"});
        assertThatThrownBy(() -> parse(q)).hasMessageContaining("DOCKER_BUILDKIT=0");

        Map<String, String[]> bad = cliDefaults();
        bad.put("buildargs", new String[] {"{\"A\":"});
        assertThatThrownBy(() -> parse(bad)).hasMessageContaining("buildargs is not a JSON object");

        Map<String, String[]> number = cliDefaults();
        number.put("labels", new String[] {"{\"A\":1}"});
        assertThatThrownBy(() -> parse(number)).hasMessageContaining("must be a string");
    }

    /** A key given twice is refused, naming it, not read as its last value (a review's finding, 2026-12-07). */
    @Test
    void refusesAKeyGivenTwice() {
        Map<String, String[]> args = cliDefaults();
        args.put("buildargs", new String[] {"{\"A\":\"1\",\"A\":\"2\"}"});
        assertThatThrownBy(() -> parse(args)).hasMessageContaining("buildargs gives --build-arg A more than once");

        Map<String, String[]> labels = cliDefaults();
        labels.put("labels", new String[] {"{\"team\":\"a\",\"team\":\"b\"}"});
        assertThatThrownBy(() -> parse(labels)).hasMessageContaining("labels gives --label team more than once");
    }

    /** What a refusal still quotes (a build arg's or label's key) is cut and printable; a platform is not quoted. */
    @Test
    void quotesRefusedValuesBoundedAndPrintable() {
        Map<String, String[]> q = cliDefaults();
        q.put("labels", new String[] {"{\"x\\u001b[2J" + "y".repeat(200) + "\":1}"});

        assertThatThrownBy(() -> parse(q)).satisfies(e -> assertThat(e.getMessage())
                .doesNotContain("\u001b").contains("x?[2Jyyy", "…").hasSizeLessThan(300));

        Map<String, String[]> platform = cliDefaults();
        platform.put("platform", new String[] {"x\u001b[2J" + "y".repeat(200)});
        assertThatThrownBy(() -> parse(platform)).satisfies(e -> assertThat(e.getMessage())
                .doesNotContain("\u001b").doesNotContain("yyy").hasSizeLessThan(300));
    }

    /**
     * A refused host option is named, its value never quoted: a remote context URL can hold a credential, and the
     * refusal is echoed to the client and kept in the audit trail (a review's finding, 2026-12-07: the first 80
     * characters were quoted).
     */
    @Test
    void namesARefusedHostOptionWithoutQuotingItsValue() {
        String secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
        for (String parameter : List.of("remote", "networkmode", "cpusetcpus", "cpusetmems", "cpushares",
                "cpuquota", "cpuperiod", "memory", "memswap", "shmsize", "cgroupparent", "securityopt", "isolation",
                "extrahosts", "ulimits", "outputs", "cachefrom", "squash")) {
            Map<String, String[]> q = cliDefaults();
            q.put(parameter, new String[] {"https://x-access-token:" + secret + "@github.com/org/repo.git"});

            assertThatThrownBy(() -> parse(q)).as(parameter).isInstanceOfSatisfying(
                    DockerBuildParameters.Refused.class, r -> assertThat(String.join("\n", r.reasons()))
                            .contains("(" + parameter + ")").doesNotContain("ghp_").doesNotContain("x-access-token")
                            .doesNotContain("github.com"));
        }
    }
}
