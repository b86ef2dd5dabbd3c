package io.buildgateway.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Fuzz target for the policy YAML loader. Policy files are reviewed like code, but a bad change must be refused with
 * a reason, never crash the reload or half-load (an invalid change is kept out and audited). Properties: loading
 * returns a policy or throws {@code InvalidPolicyException} with a message; a loaded policy evaluates a Dockerfile
 * and judges image evidence without error; loading is deterministic (same digest twice). Seeds: the shipped policy
 * and smaller documents beside this class.
 */
class PolicyLoaderFuzzTest {

    private static final String DOCKERFILE = "FROM 127.0.0.1:5000/base/busybox\nARG V=1\nRUN echo $V > /x\nUSER 65534\n";

    @FuzzTest(maxDuration = "60s")
    void policyLoadsOrIsRefusedWithAReason(byte[] yaml) {
        Map<String, String> files = Map.of("policy.yaml", new String(yaml, StandardCharsets.UTF_8));
        PolicyDocument loaded;
        try {
            loaded = PolicyStore.load(files, Path.of("fuzz"), List.of());
        } catch (PolicyDocument.InvalidPolicyException refused) {
            assertThat(refused.getMessage()).isNotBlank();
            return;
        }
        assertThat(PolicyStore.load(files, Path.of("fuzz"), List.of()).digest()).isEqualTo(loaded.digest());
        PolicyEvaluator evaluator = new PolicyEvaluator(() -> loaded, Policies.NOV_2026);
        Evaluation evaluation = evaluator.evaluate(DOCKERFILE, Map.of("V", "2"), null);
        assertThat(evaluation.policyDigest()).isEqualTo(loaded.digest());
        evaluator.judge("payments", "payments/app", List.of());
    }
}
