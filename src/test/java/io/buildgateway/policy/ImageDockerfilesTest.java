package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The repository's own images (Dockerfile.gateway, Dockerfile.buildhost) against the shipped policy
 * (config/policy), as POST /api/v1/lint judges them on a pool of BuildKit hosts: they pass, and the build host passes
 * only because of its one reviewed waiver (it runs dockerd as root). GatewayImageIT builds the gateway's image through
 * the gateway itself.
 */
class ImageDockerfilesTest {

    private static final Map<String, String> ARGS = Map.of("BASE_REGISTRY", "127.0.0.1:5000", "VERSION", "1.2.3");

    private static PolicyEvaluator shipped(Path dir) {
        PolicyDocument doc = PolicyStore.load(dir, List.of());
        return new PolicyEvaluator(() -> doc, Policies.NOV_2026);
    }

    private static Evaluation lint(Path policy, String file, String team, String image, Set<String> context)
            throws IOException {
        return lint(policy, file, team, image, context, false);
    }

    /** {@code buildkit}: judged for a BuildKit host (dockerd 26), as lint and builds judge it on such a pool. */
    private static Evaluation lint(Path policy, String file, String team, String image, Set<String> context,
            boolean buildkit) throws IOException {
        return shipped(policy).evaluate(new PolicyEvaluator.Request(Files.readString(Path.of(file)), ARGS, null,
                team, image, context, buildkit));
    }

    private static String unwaived(Evaluation e) {
        return e.findings().stream().filter(f -> !Boolean.TRUE.equals(f.waived()) && f.severity() == Finding.Severity.error)
                .map(f -> f.rule() + "@" + f.line() + ": " + f.message()).collect(Collectors.joining("\n"));
    }

    /**
     * Built on BuildKit hosts (dockerd 26, the default pool): its HEALTHCHECK's {@code --start-interval} is a flag the
     * classic builder of dockerd 20.10 does not know, so on a classic host the build is refused before it starts.
     */
    @Test
    void theGatewaysImagePassesTheShippedPolicyWithoutAWaiver() throws IOException {
        Set<String> context = Set.of("Dockerfile", "build-gateway.jar", "config/policy/policy.yaml",
                "config/compliance");
        Evaluation e = lint(Path.of("config/policy"), "Dockerfile.gateway", "platform", "platform/build-gateway",
                context, true);
        assertThat(e.passed()).as(unwaived(e)).isTrue();
        assertThat(e.findings()).noneMatch(f -> Boolean.TRUE.equals(f.waived()));
        assertThat(e.baseImage()).isEqualTo("127.0.0.1:5000/base/debian-jre-tools:12");
        assertThat(e.pulls()).containsOnly("127.0.0.1:5000/base/debian-jre-tools:12");

        Evaluation classic = lint(Path.of("config/policy"), "Dockerfile.gateway", "platform",
                "platform/build-gateway", context, false);
        assertThat(unwaived(classic)).isEqualTo("dockerfile-canonical@44: HEALTHCHECK --start-interval is unknown to "
                + "the build host's builder (the classic builder of dockerd 20.10), which refuses it");
    }

    @Test
    void theBuildHostImagePassesOnlyWithItsReviewedWaiverForRunningDockerdAsRoot() throws IOException {
        Set<String> context = Set.of("Dockerfile", "daemon.json", "subuid", "subgid", "entrypoint.sh");
        Evaluation withWaiver = lint(Path.of("config/policy"), "Dockerfile.buildhost", "platform",
                "platform/build-host", context);
        assertThat(withWaiver.passed()).as(unwaived(withWaiver)).isTrue();
        assertThat(withWaiver.findings()).filteredOn(f -> Boolean.TRUE.equals(f.waived())).extracting(Finding::rule)
                .containsExactlyInAnyOrder("final-user-root", "docker-socket");

        // Another team's image of the same Dockerfile is not covered: the waiver is for this image only.
        assertThat(lint(Path.of("config/policy"), "Dockerfile.buildhost", "payments", "payments/build-host",
                context).passed()).isFalse();

        // Without the waivers file, the same Dockerfile is refused for its root user.
        Path noWaivers = Files.createTempDirectory("policy");
        Files.copy(Path.of("config/policy/policy.yaml"), noWaivers.resolve("policy.yaml"));
        Evaluation refused = lint(noWaivers, "Dockerfile.buildhost", "platform", "platform/build-host", context);
        assertThat(refused.passed()).isFalse();
        assertThat(unwaived(refused)).contains("final-user-root").contains("docker-socket");
    }
}
