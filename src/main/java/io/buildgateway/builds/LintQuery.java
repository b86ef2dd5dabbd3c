package io.buildgateway.builds;

import io.buildgateway.shared.Problem;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;
import java.util.Map;

/**
 * The query of {@code POST /api/v1/lint} as it was given, typed as the generated document shows it. Like
 * {@link BuildQuery} it is read from the raw parameter map ({@link #of}); the whole reading travels in the hidden
 * {@code given}, so that {@link #request} reports exactly what {@link BuildRequest} always reported for it (a
 * {@code tag} is refused as unknown and still checked).
 */
record LintQuery(
        @Parameter(description = "<team>/<name>: the team whose rules apply") String image,
        @Parameter(description = "path inside the context (Dockerfile)") String dockerfile,
        @Parameter(description = "the stage to lint") String target,
        @Parameter(description = "KEY=VALUE, repeatable") List<String> buildArg,
        @Parameter(description = "ask for (true) or off (false) the ShellCheck pass; absent, the policy decides",
                schema = @Schema(type = "boolean")) String shellcheck,
        @Parameter(hidden = true) BuildQuery given,
        @Parameter(hidden = true) boolean shellcheckRepeated) {

    static LintQuery of(Map<String, String[]> parameters) {
        BuildQuery given = BuildQuery.of(parameters, BuildRequest.LINT_PARAMETERS);
        String[] shellcheck = parameters.get("shellcheck");
        return new LintQuery(given.image(), given.dockerfile(), given.target(), given.buildArg(),
                shellcheck == null || shellcheck.length == 0 ? null : shellcheck[0], given,
                shellcheck != null && shellcheck.length > 1);
    }

    /** The query validated as a build's (every invalid parameter at once), then {@link #shellcheckRequested}. */
    BuildRequest request(int maxArgs) {
        return BuildRequest.of(given, maxArgs, false);
    }

    /** {@code shellcheck=true|false}: asks for (or off) the ShellCheck pass; absent (null), the policy decides. */
    Boolean shellcheckRequested() {
        if (shellcheck == null && !shellcheckRepeated) {
            return null;
        }
        if (!shellcheckRepeated && (shellcheck.equals("true") || shellcheck.equals("false"))) {
            return Boolean.valueOf(shellcheck);
        }
        throw Problem.badRequest("invalid-parameter", "shellcheck must be true or false, given once");
    }
}
