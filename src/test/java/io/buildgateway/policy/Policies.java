package io.buildgateway.policy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

/** Test helper: a policy from YAML text, loaded the way the gateway loads config/policy. */
final class Policies {

    static final Clock NOV_2026 = Clock.fixed(Instant.parse("2026-11-28T12:00:00Z"), ZoneOffset.UTC);

    private Policies() {
    }

    static PolicyDocument document(String yaml) {
        try {
            Path dir = Files.createTempDirectory("policy");
            Files.writeString(dir.resolve("policy.yaml"), yaml);
            return PolicyStore.load(dir, List.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static PolicyEvaluator evaluator(String yaml) {
        PolicyDocument doc = document(yaml);
        return new PolicyEvaluator(() -> doc, NOV_2026);
    }
}
