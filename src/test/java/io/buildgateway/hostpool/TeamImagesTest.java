package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.model.Image;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class TeamImagesTest {

    private static final String REGISTRY = "127.0.0.1:5014";
    private static final String DIGEST = "sha256:2d2adc4e1a3898dcd296b49dd1e74a1c518f0158f953ce742033359c40edb110";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** An image as the daemon lists it ({@code GET /images/json}): its tags and repository digests. */
    private static Image image(List<String> tags, List<String> digests) {
        Map<String, Object> listed = new java.util.HashMap<>();
        listed.put("Id", "sha256:" + "1".repeat(64));
        listed.put("RepoTags", tags);
        listed.put("RepoDigests", digests);
        return JSON.convertValue(listed, Image.class);
    }

    @Test
    void theNamesOfTheWantedRepositoriesOfTheRegistryByRepositoryDigestsFirst() {
        List<Image> images = List.of(
                image(List.of(REGISTRY + "/alpha/app:1", REGISTRY + "/base/busybox:latest"),
                        List.of(REGISTRY + "/alpha/app@" + DIGEST, REGISTRY + "/base/busybox@" + DIGEST)),
                image(List.of("<none>:<none>"), List.of(REGISTRY + "/beta/pinned@" + DIGEST)),
                image(List.of("127.0.0.1:5015/alpha/app:1", "alpha/app:1"), List.of()));
        Map<String, List<String>> names = TeamImages.names(images, REGISTRY, r -> !r.startsWith("base/"));
        assertThat(names).containsExactly(
                Map.entry("alpha/app", List.of(REGISTRY + "/alpha/app@" + DIGEST, REGISTRY + "/alpha/app:1")),
                Map.entry("beta/pinned", List.of(REGISTRY + "/beta/pinned@" + DIGEST)));
    }

    @Test
    void theSweepTakesTeamRepositoriesAndTheQuarantineNeverThePullablePrefixes() {
        List<String> pullable = List.of("base/", "shared/");
        assertThat(TeamImages.swept("alpha/app", pullable, "gateway-quarantine")).isTrue();
        assertThat(TeamImages.swept("gateway-quarantine/b1/1", pullable, "gateway-quarantine")).isTrue();
        assertThat(TeamImages.swept("base/busybox", pullable, "gateway-quarantine")).isFalse();
        assertThat(TeamImages.swept("shared/jre", pullable, "")).isFalse();
        assertThat(TeamImages.swept("baseline/app", pullable, "")).isTrue();
    }

    @Test
    void aRunningBuildKeepsItsOwnRepositoryAndEveryRepositoryOfTheRegistryItMayPull() {
        Set<String> kept = TeamImages.inUse(List.of(
                new RunningBuilds.Running("alpha/app", List.of(REGISTRY + "/alpha/builder:3",
                        REGISTRY + "/beta/pinned:1@" + DIGEST, REGISTRY + "/base/busybox",
                        "docker.io/library/alpine:3", "127.0.0.1:5015/gamma/x:1")),
                new RunningBuilds.Running("delta/old", List.of())), REGISTRY);
        assertThat(kept).containsExactly("alpha/app", "alpha/builder", "base/busybox", "beta/pinned", "delta/old");
    }

    @Test
    void theNamesThatComeOffAreThoseOfRepositoriesNotInUse() {
        Map<String, List<String>> names = new java.util.TreeMap<>(Map.of(
                "alpha/app", List.of(REGISTRY + "/alpha/app:1"),
                "beta/pinned", List.of(REGISTRY + "/beta/pinned@" + DIGEST),
                "gamma/x", List.of(REGISTRY + "/gamma/x:1", REGISTRY + "/gamma/x:2")));
        assertThat(TeamImages.unused(names, Set.of("beta/pinned"))).containsExactly(REGISTRY + "/alpha/app:1",
                REGISTRY + "/gamma/x:1", REGISTRY + "/gamma/x:2");
        assertThat(TeamImages.unused(names, Set.of("alpha/app", "beta/pinned", "gamma/x"))).isEmpty();
    }

    @Test
    void anImageNamedOnlyByTheDigestOfARepositoryInUseIsKnownByIt() {
        Image pinned = image(List.of("<none>:<none>"), List.of(REGISTRY + "/beta/pinned@" + DIGEST));
        assertThat(TeamImages.namedIn(pinned, REGISTRY, Set.of("beta/pinned")::contains)).isTrue();
        assertThat(TeamImages.namedIn(pinned, REGISTRY, Set.of("beta/other")::contains)).isFalse();
        assertThat(TeamImages.namedIn(pinned, "127.0.0.1:5015", Set.of("beta/pinned")::contains)).isFalse();
        assertThat(TeamImages.namedIn(pinned, REGISTRY, Set.of()::contains)).isFalse();
        assertThat(TeamImages.namedIn(image(null, null), REGISTRY, Set.of("beta/pinned")::contains)).isFalse();
    }

    /**
     * A daemon that does not answer ends the untags at the first name and says so, so that the periodic sweep stops
     * asking it (it holds the scheduling lock meanwhile). A real client against a socket nobody serves.
     */
    @Test
    void aDaemonThatDoesNotAnswerEndsTheUntagsAndSaysSo(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        HostPoolProperties.Host host = new HostPoolProperties.Host("gone", "unix://" + dir.resolve("gone.sock"), 1,
                null, null, null, null, null);
        try (DockerClients clients = new DockerClients(TestHostPools.properties(host))) {
            TeamImages.Untagged untagged = TeamImages.untag(clients.control(host),
                    List.of(REGISTRY + "/alpha/app:1", REGISTRY + "/alpha/app:2"));

            assertThat(untagged.daemonFailed()).isTrue();
            assertThat(untagged.removed()).isEmpty();
            assertThat(TeamImages.forget(clients.control(host), List.of(REGISTRY + "/alpha/app:1"))).isEmpty();
        }
    }
}
