package io.buildgateway.dockerapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fuzz target for the Docker API compatibility parameters (issue #17): the query of {@code POST /build} is whatever
 * a client sends. The input is read as a query string ({@code name=value&…}, percent-decoded where it decodes, as the
 * servlet container hands it over). Properties: {@link DockerBuildParameters#parse} returns or refuses with
 * {@code Refused} and at least one reason, never another exception; a reason is bounded and quotes no control
 * character back; the answer is the same twice; and what it accepts asks for nothing the gateway decides itself: no
 * host-level option other than its CLI default, no platform but the host's, no BuildKit session, one name under the
 * gateway's registry (no other registry host, no digest), and only the parameters {@code POST /api/v1/builds} takes.
 * Seeds: the CLI's defaults and the shapes of DockerBuildParametersTest beside this class.
 */
class DockerBuildParametersFuzzTest {

    private static final String REGISTRY = "registry.internal:5000";
    private static final String PLATFORM = "linux/amd64";
    /** The host-level options with the values that mean "not set" (DockerBuildParameters' table, written again). */
    private static final Map<String, Set<String>> UNSET = Map.ofEntries(
            Map.entry("networkmode", Set.of("", "default")), Map.entry("cpusetcpus", Set.of("")),
            Map.entry("cpusetmems", Set.of("")), Map.entry("cpushares", Set.of("", "0")),
            Map.entry("cpuquota", Set.of("", "0")), Map.entry("cpuperiod", Set.of("", "0")),
            Map.entry("memory", Set.of("", "0")), Map.entry("memswap", Set.of("", "0")),
            Map.entry("shmsize", Set.of("", "0")), Map.entry("cgroupparent", Set.of("")),
            Map.entry("securityopt", Set.of("")), Map.entry("isolation", Set.of("", "default")),
            Map.entry("extrahosts", Set.of("")), Map.entry("remote", Set.of("")),
            Map.entry("ulimits", Set.of("", "null", "[]", "{}")), Map.entry("outputs", Set.of("", "null", "[]")),
            Map.entry("cachefrom", Set.of("", "null", "[]")), Map.entry("squash", Set.of("", "0", "false")));
    private static final Set<String> SUBMISSION_PARAMETERS = Set.of("image", "tag", "dockerfile", "target",
            "buildArg", "label", "noCache");

    @FuzzTest(maxDuration = "60s")
    void queryIsTranslatedOrRefusedWithReasons(byte[] input) {
        Map<String, String[]> query = query(new String(input, StandardCharsets.UTF_8));
        DockerBuildParameters.Parsed parsed;
        try {
            parsed = DockerBuildParameters.parse(query, REGISTRY, PLATFORM);
        } catch (DockerBuildParameters.Refused refused) {
            assertThat(refused.reasons()).isNotEmpty();
            for (String reason : refused.reasons()) {
                assertThat(reason).isNotBlank();
                // A quoted value is cut at 80 code points (the registry's name and the fixed text come on top).
                assertThat(reason.length()).isLessThan(600);
                assertThat(reason.codePoints().noneMatch(Character::isISOControl)).as(reason).isTrue();
            }
            try {
                DockerBuildParameters.parse(query, REGISTRY, PLATFORM);
                throw new AssertionError("refused once, accepted the second time");
            } catch (DockerBuildParameters.Refused again) {
                assertThat(again.reasons()).isEqualTo(refused.reasons());
            }
            return;
        }
        for (Map.Entry<String, Set<String>> option : UNSET.entrySet()) {
            for (String value : query.getOrDefault(option.getKey(), new String[0])) {
                assertThat(option.getValue()).as(option.getKey()).contains(value.trim());
            }
        }
        String platform = last(query, "platform");
        assertThat(platform == null || platform.isBlank() || platform.equalsIgnoreCase(PLATFORM)).isTrue();
        assertThat(last(query, "version")).isNotEqualTo("2");
        assertThat(SUBMISSION_PARAMETERS).containsAll(parsed.parameters().keySet());
        String[] image = parsed.parameters().get("image");
        assertThat(image).hasSize(1);
        assertThat(image[0]).doesNotContain("@");
        String first = image[0].contains("/") ? image[0].substring(0, image[0].indexOf('/')) : "";
        assertThat(first.contains(".") || first.contains(":") || first.equals("localhost")).as(image[0]).isFalse();
        assertThat(parsed.reference()).isNotBlank();
        DockerBuildParameters.Parsed again = DockerBuildParameters.parse(query, REGISTRY, PLATFORM);
        assertThat(again.quiet()).isEqualTo(parsed.quiet());
        assertThat(again.parameters().keySet()).isEqualTo(parsed.parameters().keySet());
        parsed.parameters().forEach((k, v) -> assertThat(Arrays.asList(again.parameters().get(k)))
                .isEqualTo(Arrays.asList(v)));
    }

    /** A query string as the servlet container reads it: pairs at '&', name and value at the first '='. */
    private static Map<String, String[]> query(String text) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        for (String pair : text.split("&", -1)) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq));
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        Map<String, String[]> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, v.toArray(String[]::new)));
        return out;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException broken) {
            return s; // a '%' that is no escape stays as written
        }
    }

    private static String last(Map<String, String[]> query, String name) {
        String[] values = query.get(name);
        return values == null || values.length == 0 ? null : values[values.length - 1];
    }
}
