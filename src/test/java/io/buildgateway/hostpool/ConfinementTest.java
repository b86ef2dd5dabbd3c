package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfinementTest {

    private static final String REGISTRY = "127.0.0.1:5014";
    private static final String DIGEST = "sha256:2d2adc4e1a3898dcd296b49dd1e74a1c518f0158f953ce742033359c40edb110";

    private static BuildJob job(String team, List<String> allowedPulls) {
        return new BuildJob("b1", "host1", Path.of("ctx"), "Dockerfile", null, Map.of(), Map.of(), false,
                team + "/app", "1", team, null, allowedPulls);
    }

    @Test
    void theTokenCoversApprovedBasesAndTheTeamsOwnRepositoriesOnly() {
        Confinement.Plan plan = Confinement.plan(job("alpha", List.of(
                REGISTRY + "/base/busybox:latest",
                REGISTRY + "/base/debian:12@" + DIGEST,
                REGISTRY + "/alpha/builder:3",
                REGISTRY + "/beta/secret:1",
                REGISTRY + "/alphabet/x:1",
                "docker.io/library/alpine:3",
                "127.0.0.1:5015/base/busybox")), REGISTRY, List.of("base/"));

        assertThat(plan.granted()).containsExactlyInAnyOrder("base/busybox", "base/debian", "alpha/builder");
        assertThat(plan.refused()).containsOnlyKeys(REGISTRY + "/beta/secret:1", REGISTRY + "/alphabet/x:1",
                "docker.io/library/alpine:3", "127.0.0.1:5015/base/busybox");
        assertThat(plan.refused().get(REGISTRY + "/beta/secret:1")).contains("another team's repository");
        assertThat(plan.refused().get("docker.io/library/alpine:3")).contains("not in the gateway's registry");
    }

    @Test
    void theQuarantineOfImagesStillBeingCheckedIsNeverGrantedEvenUnderAPullablePrefix() {
        Confinement.Plan plan = Confinement.plan(job("alpha", List.of(
                REGISTRY + "/gateway-quarantine/b0:checking",
                REGISTRY + "/gateway-quarantine",
                REGISTRY + "/gateway-quarantined/x:1",
                REGISTRY + "/base/busybox")), REGISTRY, List.of("base/", "gateway"), "gateway-quarantine");

        assertThat(plan.granted()).containsExactlyInAnyOrder("base/busybox", "gateway-quarantined/x");
        assertThat(plan.refused()).containsOnlyKeys(REGISTRY + "/gateway-quarantine/b0:checking",
                REGISTRY + "/gateway-quarantine");
        assertThat(plan.refused().get(REGISTRY + "/gateway-quarantine/b0:checking")).contains("quarantine");
        // the push token of a quarantine push: that repository only, besides pulls of the granted ones
        assertThat(Confinement.pushGrants("gateway-quarantine/b1", plan)).extracting(RegistryTokens.Access::repository)
                .containsExactlyInAnyOrder("gateway-quarantine/b1", "base/busybox", "gateway-quarantined/x");
    }

    @Test
    void withoutTheCallersListTheBaseImageIsTheOnlyApprovedPull() {
        BuildJob job = new BuildJob("b1", "host1", Path.of("ctx"), "Dockerfile", null, Map.of(), Map.of(), false,
                "alpha/app", "1", "alpha", REGISTRY + "/base/busybox");
        assertThat(job.allowedPulls()).containsExactly(REGISTRY + "/base/busybox");
        assertThat(Confinement.plan(job, REGISTRY, List.of("base/")).granted()).containsExactly("base/busybox");
        assertThat(new BuildJob("b1", "host1", Path.of("ctx"), "Dockerfile", null, Map.of(), Map.of(), false,
                "alpha/app", "1", "alpha", null).allowedPulls()).isEmpty();
    }

    /** The one rule the daemon's token and the submission's read of a base it would pull share. */
    @Test
    void aRepositoryIsGrantedToItsTeamAndUnderAPullablePrefixOnlyNeverInTheQuarantine() {
        List<String> pullable = List.of("base/");
        assertThat(Confinement.refusal("alpha/tools", "alpha", REGISTRY, pullable, "gateway-quarantine")).isNull();
        assertThat(Confinement.refusal("base/busybox", "alpha", REGISTRY, pullable, "gateway-quarantine")).isNull();
        assertThat(Confinement.refusal("beta/tools", "alpha", REGISTRY, pullable, "gateway-quarantine"))
                .contains("another team's repository");
        // a team whose name another's starts with is not that team
        assertThat(Confinement.refusal("alphabet/tools", "alpha", REGISTRY, pullable, "")).isNotNull();
        assertThat(Confinement.refusal("gateway-quarantine/b1/1", "gateway-quarantine", REGISTRY, pullable,
                "gateway-quarantine")).contains("quarantine");
        assertThat(Confinement.refusal(null, "alpha", REGISTRY, pullable, "")).contains("not in the gateway's registry");
        // the names the registry's API takes: never "..", upper case or an empty component
        assertThat(ImageRegistry.isRepositoryName("alpha/tools")).isTrue();
        assertThat(ImageRegistry.isRepositoryName("alpha/../beta/tools")).isFalse();
        assertThat(ImageRegistry.isRepositoryName("alpha/Tools")).isFalse();
        assertThat(ImageRegistry.isRepositoryName("alpha//tools")).isFalse();
    }

    @Test
    void repositoriesOfReferences() {
        assertThat(Confinement.repository(REGISTRY + "/base/busybox", REGISTRY)).isEqualTo("base/busybox");
        assertThat(Confinement.repository(REGISTRY + "/base/busybox:1.36", REGISTRY)).isEqualTo("base/busybox");
        assertThat(Confinement.repository(REGISTRY + "/a/b/c:1@" + DIGEST, REGISTRY)).isEqualTo("a/b/c");
        assertThat(Confinement.repository(REGISTRY + "/a/b@" + DIGEST, REGISTRY)).isEqualTo("a/b");
        assertThat(Confinement.repository("127.0.0.1:50140/base/busybox", REGISTRY)).isNull();
        assertThat(Confinement.repository("base/busybox", REGISTRY)).isNull();
        assertThat(Confinement.repository(null, REGISTRY)).isNull();
    }

    @Test
    void aBuildThatPulledOnlyWhatWasGrantedAndFetchedNothingStayedInside() {
        Confinement.Plan plan = new Confinement.Plan(java.util.Set.of("base/busybox"), Map.of());
        assertThat(Confinement.violations(plan, REGISTRY, List.of(new PulledImage(REGISTRY + "/base/busybox:latest",
                DIGEST, "FROM " + REGISTRY + "/base/busybox")), List.of(), null)).isEmpty();
        // A failed pull from the registry itself (a missing tag, say) is not an escape.
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "manifest for " + REGISTRY
                + "/base/busybox:nope not found: manifest unknown: manifest unknown")).isEmpty();
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "Head \"http://" + REGISTRY
                + "/v2/base/busybox/manifests/x\": EOF")).isEmpty();
        // A failed RUN quotes its command, which the author wrote: not evidence of anything.
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "The command '/bin/sh -c echo "
                + "'Get \"http://10.0.0.1/\"' denied: requested access; false' returned a non-zero code: 1"))
                .isEmpty();
        // BuildKit's form of the same (captured from dockerd 26.1.5).
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "process \"/bin/sh -c echo "
                + "'Get \"http://10.0.0.1/\"' denied: requested access; false\" did not complete successfully:"
                + " exit code: 1")).isEmpty();
        // ... which a fetch's error does not pass for.
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "failed to GET http://10.0.0.1/x"
                + " with status 401 Unauthorized: process \"x\" did not complete successfully: exit code: 1",
                "ADD http://10.0.0.1/x /x")).isNotEmpty();
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "COPY failed: open /x: permission"
                + " denied: no")).isEmpty();
    }

    @Test
    void everyWayOutIsAViolation() {
        Confinement.Plan plan = new Confinement.Plan(java.util.Set.of("base/busybox"), Map.of());
        List<String> v = Confinement.violations(plan, REGISTRY,
                List.of(new PulledImage(REGISTRY + "/beta/secret:1", DIGEST, "FROM " + REGISTRY + "/beta/secret:1"),
                        new PulledImage("docker.io/library/alpine:3", DIGEST, "FROM alpine:3")),
                List.of("ADD $U /x"), null);
        assertThat(v).hasSize(3);
        assertThat(v.get(0)).contains(REGISTRY + "/beta/secret:1").contains("not approved");
        assertThat(v.get(1)).contains("docker.io/library/alpine:3");
        assertThat(v.get(2)).contains("downloaded a remote source").contains("ADD $U /x");
    }

    /** Errors as dockerd 20.10 in its loopback-only namespace reports them. */
    @Test
    void attemptsTheDaemonReportsInItsErrorAreViolations() {
        Confinement.Plan plan = new Confinement.Plan(java.util.Set.of("base/busybox"), Map.of());
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "ADD failed: Get "
                + "\"http://user:pw@127.0.0.1:9999/x?token=abc\": dial tcp 127.0.0.1:9999: connect: connection refused"))
                .containsExactly("the daemon tried to reach http://127.0.0.1:9999/x");
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "Get \"https://registry-1.docker.io"
                + "/v2/\": dial tcp: lookup registry-1.docker.io: connect: network is unreachable"))
                .containsExactly("the daemon tried to reach https://registry-1.docker.io/v2/");
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "pull access denied for "
                + REGISTRY + "/beta/secret, repository does not exist or may require 'docker login': denied: "
                + "requested access to the resource is denied")).singleElement().asString()
                .contains("refused the daemon a pull of " + REGISTRY + "/beta/secret");
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "Head \"http://" + REGISTRY
                + "/v2/beta/secret/manifests/1\": unauthorized: authentication required")).singleElement().asString()
                .contains("the registry refused");
    }

    /**
     * A remote fetch of an ADD, in each form the classic builder reports it, is a violation whatever the URL's host
     * (the registry's included: the daemon has no business fetching from it by URL), and whatever the status.
     */
    @Test
    void aFailedFetchOfAnAddIsAViolationInEveryForm() {
        Confinement.Plan plan = new Confinement.Plan(java.util.Set.of("base/busybox"), Map.of());
        String add = "ADD $U /x";
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "ADD failed: failed to GET http://"
                + REGISTRY + "/x with status 401 Unauthorized: {\"errors\":[]}", add)).singleElement().asString()
                .contains("tried to fetch http://" + REGISTRY + "/x").contains("401 Unauthorized");
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "ADD failed: failed to GET "
                + "http://127.0.0.1:5020/x with status 404 Not Found: 404 page not found", add)).singleElement()
                .asString().contains("tried to fetch http://127.0.0.1:5020/x").contains("404 Not Found");
        // without the step known (a label step's error, say), the message alone is enough
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "failed to GET http://127.0.0.1:5020"
                + "/x?token=abc with status 401 Unauthorized")).singleElement().asString()
                .contains("tried to fetch http://127.0.0.1:5020/x").doesNotContain("token=abc");
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "error downloading "
                + "https://files.example/x.tgz: EOF", null)).singleElement().asString()
                .contains("tried to fetch https://files.example/x.tgz");
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "invalid response status 403 from "
                + "http://" + REGISTRY + "/secret", null)).singleElement().asString()
                .contains("tried to fetch http://" + REGISTRY + "/secret");
        // Get "<url>" of the registry itself, in an ADD: a fetch, not a pull
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "Get \"http://" + REGISTRY
                + "/v2/base/busybox/blobs/" + DIGEST + "\": EOF", add)).singleElement().asString()
                .contains("tried to fetch http://" + REGISTRY + "/v2/base/busybox/blobs/");
        // any error of an ADD step that names a URL
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "ADD failed: something new about "
                + "http://" + REGISTRY + "/y", null)).hasSize(1);
        // a Get "<url>" elsewhere is reported once, as before
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "ADD failed: Get "
                + "\"http://127.0.0.1:9999/x\": dial tcp 127.0.0.1:9999: connect: connection refused", add))
                .containsExactly("the daemon tried to reach http://127.0.0.1:9999/x");
    }

    @Test
    void aFailedRunOrAPullOfTheRegistryIsNoFetch() {
        Confinement.Plan plan = new Confinement.Plan(java.util.Set.of("base/busybox"), Map.of());
        // a RUN's error quotes its command, even one that looks like a fetch's error
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "The command '/bin/sh -c echo "
                + "failed to GET http://10.0.0.1/x with status 401 Unauthorized; false' returned a non-zero code: 1",
                "RUN echo failed to GET http://10.0.0.1/x with status 401 Unauthorized; false")).isEmpty();
        // the registry's API named by a pull's error outside an ADD
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "error downloading http://" + REGISTRY
                + "/v2/base/busybox/blobs/" + DIGEST + ": unexpected EOF", "FROM " + REGISTRY + "/base/busybox"))
                .isEmpty();
        // an ADD of a file of the context that failed names no URL
        assertThat(Confinement.violations(plan, REGISTRY, List.of(), List.of(), "ADD failed: file not found in build"
                + " context or excluded by .dockerignore: stat x: file does not exist", "ADD x /x")).isEmpty();
    }
}
