package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelStepTest {

    private static final String ID = "sha256:" + "ab".repeat(32);

    @Test
    void writesOneLabelInstructionFromTheImageId() {
        String dockerfile = LabelStep.dockerfile(ID, Map.of("b", "2", "a", "1"));

        assertThat(dockerfile).isEqualTo("FROM " + ID + "\nLABEL \"a\"=\"1\" \"b\"=\"2\"\n");
        Dockerfile parsed = DockerfileParser.parse(dockerfile);
        assertThat(parsed.errors()).isEmpty();
        assertThat(parsed.instructions()).hasSize(2);
    }

    @Test
    void valuesAreLiteralNoExpansionNoQuoteEscape() {
        assertThat(LabelStep.quote("a \"b\" $HOME \\")).isEqualTo("\"a \\\"b\\\" \\$HOME \\\\\"");
        assertThatThrownBy(() -> LabelStep.quote("line\nbreak")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LabelStep.dockerfile("busybox:latest", Map.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
