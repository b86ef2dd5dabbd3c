package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.hostpool.ImageFacts;
import io.buildgateway.policy.ImagePolicy;
import io.buildgateway.policy.ImageRules;
import io.buildgateway.policy.PolicyEvaluator.Evidence;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ImageChecksTest {

    private static final byte[] PASSWD = ("root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/:/bin/sh\n"
            + "app:x:1000:1000::/app:/bin/sh\n").getBytes(StandardCharsets.UTF_8);

    static ImageFacts image(String user, List<String> layers, List<String> env, Set<String> ports,
            Map<String, String> labels) {
        return new ImageFacts("sha256:" + "a".repeat(64), layers, user, env, ports, null, null, labels, "linux",
                "amd64", List.of());
    }

    @Test
    void usersResolveThroughTheImagesPasswd() {
        assertThat(ImageChecks.resolveUser("app", PASSWD).uid()).isEqualTo(1000);
        assertThat(ImageChecks.resolveUser("app:staff", PASSWD).uid()).isEqualTo(1000);
        assertThat(ImageChecks.resolveUser("toor", PASSWD).uid()).isZero();
        assertThat(ImageChecks.resolveUser("", PASSWD).uid()).isZero();
        assertThat(ImageChecks.resolveUser("65534", null).uid()).isEqualTo(65534);
        assertThat(ImageChecks.resolveUser("ghost", PASSWD).uid()).isNull();
        assertThat(ImageChecks.resolveUser("ghost", null).why()).contains("not defined");
    }

    @Test
    void configurationFindings() {
        ImageFacts img = image("toor", List.of(), List.of("PATH=/bin", "DB_PASSWORD=hunter2", "TOKEN=",
                "NOTE=ghp_" + "a".repeat(36), "BASE_SECRET=fromBase", "POSTGRES_PASSWORD_FILE=/run/secrets/db"), Set.of("80/tcp", "8080/tcp", "443/tcp"),
                Map.of("io.buildgateway.build-id", "wrong"));
        ImageFacts base = image("", List.of(), List.of("BASE_SECRET=fromBase"), Set.of(), Map.of());
        List<Evidence> found = ImageChecks.configuration(img, Optional.of(base),
                ImageChecks.resolveUser("toor", PASSWD),
                Map.of("io.buildgateway.build-id", "b1", "io.buildgateway.requested-by", "alice", "team", "x"),
                List.of("org.opencontainers.image.source"),
                new ImagePolicy(List.of(), List.of(), Set.of(443), ImagePolicy.DEFAULT.vulnerabilities()));
        assertThat(found).extracting(Evidence::rule).containsExactlyInAnyOrder(ImageRules.USER_ROOT,
                ImageRules.PRIVILEGED_PORT, ImageRules.SECRET_ENV, ImageRules.SECRET_ENV, ImageRules.REQUIRED_LABEL,
                ImageRules.GATEWAY_LABELS, ImageRules.GATEWAY_LABELS);
        assertThat(found).extracting(Evidence::message).noneMatch(m -> m.contains("hunter2"))
                .anyMatch(m -> m.contains("80/tcp")).noneMatch(m -> m.contains("443/tcp"));
    }

    @Test
    void lineageHoldsOnlyWhenTheBaseLayersComeFirst() {
        ImageFacts base = image("", List.of("sha256:b1", "sha256:b2"), List.of(), Set.of(), Map.of());
        List<Evidence> out = new ArrayList<>();
        assertThat(ImageChecks.lineage(image("1", List.of("sha256:b1", "sha256:b2", "sha256:x"), List.of(), Set.of(),
                Map.of()), Optional.of(base), "base", out)).isEqualTo(2);
        assertThat(out).isEmpty();
        assertThat(ImageChecks.lineage(image("1", List.of("sha256:b1", "sha256:zz", "sha256:x"), List.of(), Set.of(),
                Map.of()), Optional.of(base), "base", out)).isZero();
        assertThat(ImageChecks.lineage(image("1", List.of("sha256:b1"), List.of(), Set.of(), Map.of()),
                Optional.of(base), "base", out)).isZero();
        assertThat(ImageChecks.lineage(image("1", List.of("sha256:x"), List.of(), Set.of(), Map.of()),
                Optional.empty(), null, out)).isZero();
        assertThat(out).extracting(Evidence::rule).containsOnly(ImageRules.BASE_LINEAGE).hasSize(3);
        assertThat(out.get(0).message()).contains("1 of its 2 layers match");
    }

    private static LayerAudit.Layer layer(LayerAudit.Observation o) {
        return new LayerAudit.Layer(List.of(o), Map.of(), Map.of(), List.of(), List.of());
    }

    @Test
    void onlyTheAddedLayersCount() {
        ImageFacts img = image("1", List.of("sha256:base", "sha256:added"), List.of(), Set.of(), Map.of());
        Map<String, LayerAudit.Layer> seen = Map.of(
                "sha256:base", layer(new LayerAudit.Observation(ImageRules.SETUID_ADDED, "/usr/bin/su", "base's")),
                "sha256:added", layer(new LayerAudit.Observation(ImageRules.WORLD_WRITABLE, "/app", "added")));
        assertThat(ImageChecks.addedLayers(img, 1, seen)).extracting(Evidence::rule)
                .containsExactly(ImageRules.WORLD_WRITABLE);
        assertThat(ImageChecks.addedLayers(img, 0, seen)).hasSize(2);
        assertThat(ImageChecks.addedLayers(img, 1, Map.of())).extracting(Evidence::rule)
                .containsExactly(ImageRules.UNREADABLE);
    }
}
