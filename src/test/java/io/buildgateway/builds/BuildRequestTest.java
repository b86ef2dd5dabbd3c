package io.buildgateway.builds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.buildgateway.shared.Problem;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The submission query as the controller and the Docker port give it: raw parameters, one validator. */
class BuildRequestTest {

    private static BuildRequest parse(Map<String, String[]> parameters) {
        return BuildRequest.parse(parameters, 3, BuildRequest.BUILD_PARAMETERS, true);
    }

    private static Map<String, String[]> query(String... pairs) {
        Map<String, String[]> out = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            String name = pairs[i];
            String[] old = out.getOrDefault(name, new String[0]);
            String[] values = java.util.Arrays.copyOf(old, old.length + 1);
            values[old.length] = pairs[i + 1];
            out.put(name, values);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, String>> errors(Map<String, String[]> parameters) {
        Problem p = catchThrowableOfType(Problem.class, () -> parse(parameters));
        assertThat(p.status()).isEqualTo(400);
        assertThat(p.typeName()).isEqualTo("invalid-parameter");
        return (List<Map<String, String>>) p.properties().get("errors");
    }

    @Test
    void readsEveryParameterAsGivenWithTheDefaults() {
        BuildRequest r = parse(query("image", "payments/app", "buildArg", "A=1,2", "buildArg", "B=x=y",
                "label", "owner=payments,ops", "noCache", "true"));
        assertThat(r.image().toString()).isEqualTo("payments/app");
        assertThat(r.tag()).isEqualTo("latest");
        assertThat(r.dockerfile()).isEqualTo("Dockerfile");
        assertThat(r.target()).isNull();
        // A comma is part of a value, never a separator (Spring's binding would have split these).
        assertThat(r.buildArgs()).containsExactly(Map.entry("A", "1,2"), Map.entry("B", "x=y"));
        assertThat(r.labels()).containsExactly(Map.entry("owner", "payments,ops"));
        assertThat(r.noCache()).isTrue();
    }

    @Test
    void reportsUnknownAndRepeatedParametersWithTheInvalidValuesAtOnce() {
        List<Map<String, String>> errors = errors(query("image", "payments/app", "tags", "1", "tag", "1",
                "tag", "2", "noCache", "yes", "buildArg", "1A=x"));
        assertThat(errors).containsExactly(
                Map.of("field", "tags", "message", "unknown parameter"),
                Map.of("field", "tag", "message", "given more than once"),
                Map.of("field", "buildArg", "message", "a build arg name is a letter or '_' then letters, digits or"
                        + " '_' (the name given is not quoted: it may be a value)"),
                Map.of("field", "noCache", "message", "must be true or false"));
    }

    /**
     * A NUL in a build arg's value is refused, naming the arg and not quoting the value (it may be a secret); newlines
     * and tabs stay allowed. Through the Docker port's buildargs JSON (a JSON escape of U+0000) it reached the record: a base
     * FROM ${B} could not be stored and the submission answered 500 (a review's find, 2026-12-07).
     */
    @Test
    void aNulInABuildArgValueIsRefusedWithoutQuotingTheValue() {
        assertThat(errors(query("image", "payments/app", "buildArg", "B=sec\0ret")))
                .containsExactly(Map.of("field", "buildArg", "message", "'B' has a NUL character in its value"));
        assertThat(parse(query("image", "payments/app", "buildArg", "B=line1\nline2\tx")).buildArgs())
                .containsEntry("B", "line1\nline2\tx");
    }

    /** An invalid name is not quoted: it may be a secret typed where the name belongs (buildArg=<token>=). */
    @Test
    void anInvalidBuildArgNameIsNotQuoted() {
        assertThat(errors(query("image", "payments/app", "buildArg", "ghp-s3cr3t+/x==")))
                .singleElement().satisfies(e -> assertThat(e.get("message")).doesNotContain("s3cr3t"));
    }

    @Test
    void oneErrorIsNamedInTheDetail() {
        Problem p = catchThrowableOfType(Problem.class, () -> parse(query("tag", "1")));
        assertThat(p.detail()).isEqualTo("image: required: <team>/<name>");
        p = catchThrowableOfType(Problem.class, () -> parse(query("image", "payments/app", "noCache", "1",
                "noCache", "true")));
        assertThat(p.detail()).isEqualTo("the request has 2 invalid parameters");
    }

    @Test
    void refusesMoreRepeatableValuesThanAllowedAndGatewayLabels() {
        assertThat(errors(query("image", "payments/app", "buildArg", "A=1", "buildArg", "B=1", "buildArg", "C=1",
                "buildArg", "D=1", "label", "io.buildgateway.team=ops")))
                .containsExactly(Map.of("field", "buildArg", "message", "at most 3 allowed"),
                        Map.of("field", "label", "message",
                                "labels under io.buildgateway. are set by the gateway only"));
    }

    @Test
    void lintParametersTakeNoTagButShellcheck() {
        BuildRequest r = BuildRequest.parse(query("shellcheck", "true", "target", "build"), 3,
                BuildRequest.LINT_PARAMETERS, false);
        assertThat(r.image()).isNull();
        assertThat(r.target()).isEqualTo("build");
        assertThat(catchThrowableOfType(Problem.class, () -> BuildRequest.parse(query("tag", "1"), 3,
                BuildRequest.LINT_PARAMETERS, false)).detail()).isEqualTo("tag: unknown parameter");
    }

    @Test
    void theLintQueryIsValidatedAsABuildsWithShellcheckGivenOnce() {
        LintQuery q = LintQuery.of(query("image", "payments/app", "shellcheck", "false", "buildArg", "A=1,2"));
        assertThat(q.request(3).buildArgs()).containsExactly(Map.entry("A", "1,2"));
        assertThat(q.shellcheckRequested()).isFalse();
        assertThat(LintQuery.of(query("dockerfile", "x/Dockerfile")).shellcheckRequested()).isNull();
        for (Map<String, String[]> bad : List.of(query("shellcheck", "true", "shellcheck", "true"),
                query("shellcheck", "yes"))) {
            assertThat(catchThrowableOfType(Problem.class, () -> LintQuery.of(bad).shellcheckRequested()).detail())
                    .isEqualTo("shellcheck must be true or false, given once");
        }
        // A tag is not a lint parameter: refused as unknown, and its value still checked, as before.
        Problem p = catchThrowableOfType(Problem.class, () -> LintQuery.of(query("tag", "-bad")).request(3));
        assertThat(p.properties().get("errors")).isEqualTo(List.of(
                Map.of("field", "tag", "message", "unknown parameter"),
                Map.of("field", "tag", "message", "must match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}")));
    }
}
