package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.BuildKitOracle;
import io.buildgateway.support.IntegrationTest;
import io.buildgateway.support.Tars;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The periodic sweep of a shared build host's store ({@link TeamImageSweep}): a team image's name that no build left
 * there by ending (a replica that died mid-build, or a name from before builds took theirs off) comes off, except a
 * name of a repository a build RUNNING on the host may pull. The oracle is the host's own BuildKit, as in
 * {@link TeamImagesOffHostIT}: a build {@code FROM} the team's image without credentials for it reads the image while
 * the name is on the host, and fails once the sweep took it off.
 *
 * <p>A gateway of its own, whose registry is the suite's spelled {@code localhost:<port>}: the build host is shared
 * with other test classes and other JVMs, whose running builds this gateway's database does not know, so its sweep
 * must find no name but this test's. The daemon reaches the same registry by either spelling, and every other name
 * on the host is of {@code 127.0.0.1:<port>}, which this gateway does not count as its registry.
 */
class TeamImageSweepIT extends IntegrationTest {

    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String REGISTRY = "localhost:" + registryAddress().substring(registryAddress()
            .lastIndexOf(':') + 1);

    @DynamicPropertySource
    static void ownGateway(DynamicPropertyRegistry registry) {
        ownGateway(registry, DATA.resolveSibling(DATA.getFileName() + "-team-image-sweep"));
        registry.add("bgw.it.registry-address", () -> REGISTRY);
    }

    @Autowired
    TeamImageSweep sweep;
    @Autowired
    BuildRepository builds;
    @Autowired
    MeterRegistry meters;
    @Autowired
    org.springframework.core.env.Environment environment;

    @Test
    void aTeamImageNameLeftOnTheSharedHostIsSweptButOneARunningBuildMayPullStays() throws Exception {
        String team = "sweep" + RUN;
        String host = environment.getRequiredProperty("gateway.hostpool.hosts[0].name");
        // Two team images of the test's own (the base with a label of the run, so that each is an image of its own).
        pushDerivedImage("base/busybox", team + "/left", RUN, config -> config.putObject("Labels")
                .put("sweep-it", RUN + "-left"));
        pushDerivedImage("base/busybox", team + "/kept", RUN, config -> config.putObject("Labels")
                .put("sweep-it", RUN + "-kept"));
        String left = REGISTRY + "/" + team + "/left";
        String kept = REGISTRY + "/" + team + "/kept";
        // A build RUNNING on the host, as another replica's would be (its lease far ahead), approved to pull kept,
        // with its run's quarantine copy named on the host; and a quarantine copy of a run that is over.
        Build other = new Build(UUID.randomUUID());
        String ownQuarantine = QuarantinePush.quarantineOf("gateway-quarantine", other.id.toString(), 1);
        String lostQuarantine = QuarantinePush.quarantineOf("gateway-quarantine", UUID.randomUUID().toString(), 1);
        for (String repository : List.of(ownQuarantine, lostQuarantine)) {
            pushDerivedImage("base/busybox", repository, RUN, config -> config.putObject("Labels")
                    .put("sweep-it", RUN + "-" + repository));
        }
        String running = REGISTRY + "/" + ownQuarantine;
        String lost = REGISTRY + "/" + lostQuarantine;
        other.image = team + "/other";
        other.tag = RUN;
        other.team = team;
        other.requestedBy = "it";
        other.requestedAt = Instant.now().truncatedTo(ChronoUnit.MICROS);
        other.contextDigest = "sha256:" + "0".repeat(64);
        other.dockerfile = "Dockerfile";
        other.buildArgs = "{}";
        other.labels = "{}";
        other.findings = "[]";
        other.allowedPulls = "[\"" + kept + ":" + RUN + "\"]";
        other.queue();
        other.claim(host, "another-replica", Instant.now(), Duration.ofHours(1));
        builds.saveAndFlush(other);
        byte[] reader = Tars.ustar().file("Dockerfile", "FROM " + left + ":" + RUN + "\nRUN true\n").bytes();
        try (BuildKitOracle oracle = BuildKitOracle.connect("base/busybox")) {
            try {
                // Both names on the host, as a build of the team that never ended there would have left them.
                try (BuildKitOracle granted = BuildKitOracle.connect(team + "/left", team + "/kept", ownQuarantine,
                        lostQuarantine)) {
                    for (String name : List.of(left, kept, running, lost)) {
                        assertThat(granted.pull(name + ":" + RUN)).isNull();
                    }
                }
                // The control: while the name is on the host, a build without credentials for it reads it.
                BuildKitOracle.Built read = oracle.build(reader, "Dockerfile", Map.of());
                assertThat(read.error()).as(read.log()).isNull();
                oracle.remove(read.imageId());

                Map<String, List<String>> swept = sweep.sweep();

                assertThat(oracle.names(left)).as("names of the team image left on the host").isEmpty();
                BuildKitOracle.Built refused = oracle.build(reader, "Dockerfile", Map.of());
                assertThat(refused.error()).as("a build FROM the swept image, without credentials for it: "
                        + refused.log()).isNotNull().contains(left);
                assertThat(swept).as("what the sweep took off, by host").containsKey(host);
                assertThat(swept.get(host)).as("only the test's names carry this registry's spelling")
                        .contains(left + ":" + RUN, lost + ":" + RUN).allMatch(n -> n.startsWith(left + ":")
                                || n.startsWith(left + "@") || n.startsWith(lost + ":") || n.startsWith(lost + "@"));
                assertThat(oracle.names(lost)).as("a quarantine copy of a run that is over").isEmpty();
                assertThat(oracle.names(kept)).as("kept for the running build that may pull it")
                        .contains(kept + ":" + RUN);
                assertThat(oracle.names(running)).as("the running build's own quarantine copy")
                        .contains(running + ":" + RUN);
                assertThat(meters.counter("gateway.hosts.team-names.swept", "host", host).count())
                        .isEqualTo(swept.get(host).size());
                eventually("the sweep audited", Duration.ofSeconds(10),
                        () -> auditCount("host.team-names-swept", "host/" + host) == 1);
                assertThat(jdbc.queryForObject("select cast(details as varchar) from audit_event where action ="
                        + " 'host.team-names-swept' and target = ?", String.class, "host/" + host))
                        .as("names may carry build-arg values: only their digests are audited")
                        .contains(io.buildgateway.policy.PolicyEvaluator.valueDigest(swept.get(host).get(0)))
                        .doesNotContain(RUN);

                // The running build ended: the next sweep takes its names off too.
                builds.deleteById(other.id);
                assertThat(sweep.sweep().get(host)).contains(kept + ":" + RUN, running + ":" + RUN)
                        .allMatch(n -> n.startsWith(kept) || n.startsWith(running));
                assertThat(oracle.names(kept)).isEmpty();
                assertThat(oracle.names(running)).isEmpty();
            } finally {
                builds.findById(other.id).ifPresent(builds::delete);
                for (String name : List.of(left, kept, running, lost)) {
                    for (String ref : oracle.names(name)) {
                        try {
                            oracle.untag(ref);
                        } catch (java.io.IOException alreadyGone) {
                            // the tag's removal took the repository's digest with it
                        }
                    }
                }
            }
        }
    }
}
