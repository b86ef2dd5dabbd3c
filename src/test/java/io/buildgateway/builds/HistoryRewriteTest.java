package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.policy.PolicyEvaluator;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class HistoryRewriteTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static final String A = "x y"; // a value with a space, as BuildKit writes it unquoted
    private static final String B = "z";

    /** Real values: A, B non-public (shown as their digests), PUB public (shown as given). */
    private static HistoryRewrite rewrite() {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("A", A);
        values.put("B", B);
        values.put("PUB", "release-1");
        values.put("TOKEN", "s3cr3t-token");
        Map<String, String> shown = new LinkedHashMap<>();
        values.forEach((k, v) -> shown.put(k, k.equals("PUB") ? v : PolicyEvaluator.valueDigest(v)));
        return HistoryRewrite.of(values, shown, JSON);
    }

    private static byte[] config(String... createdBy) {
        StringBuilder history = new StringBuilder();
        for (String c : createdBy) {
            history.append(history.length() == 0 ? "" : ",").append("{\"created\":\"2026-12-07T10:00:00Z\",")
                    .append("\"created_by\":").append(JSON.writeValueAsString(c)).append(",\"comment\":\"buildkit."
                            + "dockerfile.v0\"}");
        }
        return ("{\"architecture\":\"amd64\",\"config\":{\"Env\":[\"PATH=/usr/bin\",\"T=s3cr3t-token\"],"
                + "\"Labels\":{\"l\":\"x y\"}},\"created\":\"2026-12-07T10:00:00Z\",\"history\":[" + history
                + "],\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + "1".repeat(64)
                + "\"]}}").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void buildKitsArgPrefixShowsNonPublicValuesAsTheirDigestsAndPublicOnesAsGiven() {
        String createdBy = "RUN |3 A=x y B=z PUB=release-1 /bin/sh -c echo \"$A\" > /out # buildkit";
        String out = rewrite().createdBy(createdBy);
        assertThat(out).isEqualTo("RUN |3 A=" + PolicyEvaluator.valueDigest(A) + " B="
                + PolicyEvaluator.valueDigest(B) + " PUB=release-1 /bin/sh -c echo \"$A\" > /out # buildkit");
        // a short value is rewritten in the prefix only: "z" elsewhere in the command stays
        assertThat(rewrite().createdBy("RUN |1 B=z /bin/sh -c zip z.zip")).isEqualTo("RUN |1 B="
                + PolicyEvaluator.valueDigest(B) + " /bin/sh -c zip z.zip");
        // the last assignment, at the end of the text
        assertThat(rewrite().createdBy("RUN |1 B=z")).isEqualTo("RUN |1 B=" + PolicyEvaluator.valueDigest(B));
        // not an assignment of B's value: B=zz is another value
        assertThat(rewrite().createdBy("RUN |1 B=zz /bin/sh -c true")).isEqualTo("RUN |1 B=zz /bin/sh -c true");
    }

    @Test
    void aLongValueIsRewrittenWhereverItOccursAndADigestPutInIsNeverMatchedAgain() {
        String out = rewrite().createdBy("ENV T=s3cr3t-token");
        assertThat(out).isEqualTo("ENV T=" + PolicyEvaluator.valueDigest("s3cr3t-token"));
        assertThat(rewrite().createdBy("RUN |1 TOKEN=s3cr3t-token /bin/sh -c curl -H s3cr3t-token x"))
                .isEqualTo("RUN |1 TOKEN=" + PolicyEvaluator.valueDigest("s3cr3t-token") + " /bin/sh -c curl -H "
                        + PolicyEvaluator.valueDigest("s3cr3t-token") + " x");
    }

    /** Two values overlapping in the text (a review's find): no part of either stays visible. */
    @Test
    void overlappingValuesAreBothReplacedWhole() {
        Map<String, String> values = Map.of("A", "abcd1234", "B", "1234secretsecret");
        Map<String, String> shown = Map.of("A", PolicyEvaluator.valueDigest("abcd1234"), "B",
                PolicyEvaluator.valueDigest("1234secretsecret"));
        HistoryRewrite r = HistoryRewrite.of(values, shown, JSON);
        String out = r.createdBy("RUN |2 A=abcd1234 B=1234secretsecret /bin/sh -c echo abcd1234secretsecret");
        assertThat(out).doesNotContain("secret").doesNotContain("abcd").startsWith("RUN |2 A="
                + PolicyEvaluator.valueDigest("abcd1234") + " B=" + PolicyEvaluator.valueDigest("1234secretsecret")
                + " /bin/sh -c echo ");
        // a name missing from the shown map counts as not public
        assertThat(HistoryRewrite.of(Map.of("X", "value-x"), Map.of(), JSON).createdBy("RUN |1 X=value-x true"))
                .isEqualTo("RUN |1 X=" + PolicyEvaluator.valueDigest("value-x") + " true");
    }

    @Test
    void onlyTheHistorysCreatedByChangesAndTheOutputIsTheSameEveryTime() {
        byte[] config = config("ADD file:abc in / ", "RUN |2 A=x y B=z /bin/sh -c echo hi # buildkit");
        byte[] once = rewrite().apply(config);
        assertThat(once).isNotEqualTo(config);
        assertThat(rewrite().apply(config.clone())).isEqualTo(once); // a retry stores the same bytes
        JsonNode before = JSON.readTree(config);
        JsonNode after = JSON.readTree(once);
        assertThat(after.path("history").get(1).path("created_by").asString()).isEqualTo("RUN |2 A="
                + PolicyEvaluator.valueDigest(A) + " B=" + PolicyEvaluator.valueDigest(B)
                + " /bin/sh -c echo hi # buildkit");
        assertThat(new String(once, StandardCharsets.UTF_8)).doesNotContain("A=x y").doesNotContain("B=z ");
        // everything else as it was: layers, Env (the image's own), labels, the other entry, field order
        assertThat(after.path("rootfs")).isEqualTo(before.path("rootfs"));
        assertThat(after.path("config")).isEqualTo(before.path("config"));
        assertThat(after.path("history").get(0)).isEqualTo(before.path("history").get(0));
        assertThat(after.propertyNames()).containsExactlyElementsOf(before.propertyNames());
    }

    @Test
    void aConfigWithNothingToRewriteIsReturnedAsTheSameBytes() {
        byte[] config = config("ADD file:abc in / ", "RUN |1 PUB=release-1 /bin/sh -c make # buildkit");
        assertThat(rewrite().apply(config)).isSameAs(config);
        byte[] noHistory = "{\"rootfs\":{}}".getBytes(StandardCharsets.UTF_8);
        assertThat(rewrite().apply(noHistory)).isSameAs(noHistory);
    }

    @Test
    void noRewriteWhenEveryArgIsShownAsGiven() {
        Map<String, String> values = Map.of("PUB", "release-1");
        assertThat(HistoryRewrite.of(values, values, JSON)).isNull();
        assertThat(HistoryRewrite.of(Map.of(), Map.of(), JSON)).isNull();
    }
}
