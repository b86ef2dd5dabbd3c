package io.buildgateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The gateway's JIT options (docs/operations.md, "JIT compilation on few cores") are written in three places: the
 * image's entry point (and so the Helm chart's pods), {@code make run} and the bench scripts. They must not drift, or
 * the benchmarks measure another JVM than the one deployed.
 */
class JitOptionsTest {

    static final List<String> OPTIONS = List.of("-XX:Tier3DelayOn=1000000", "-XX:Tier4InvocationThreshold=15000",
            "-XX:Tier4MinInvocationThreshold=1800", "-XX:Tier4CompileThreshold=45000",
            "-XX:Tier4BackEdgeThreshold=120000");
    private static final Pattern TIER = Pattern.compile("-XX:Tier[34][A-Za-z]+=[0-9]+");

    private static List<String> tierOptions(String file) throws IOException {
        Matcher m = TIER.matcher(Files.readString(Path.of(file)));
        return m.results().map(r -> r.group()).toList();
    }

    @Test
    void theImageMakeRunAndTheBenchStartTheGatewayWithTheSameJitOptions() throws IOException {
        assertThat(tierOptions("Dockerfile.gateway")).containsExactlyElementsOf(OPTIONS);
        assertThat(tierOptions("scripts/run.sh")).containsExactlyElementsOf(OPTIONS);
        assertThat(tierOptions("bench/gateway.sh")).containsExactlyElementsOf(OPTIONS);
    }
}
