package io.buildgateway.builds;

import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Schema;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The query of {@code POST /api/v1/builds} as it was given, typed as the generated document shows it, before
 * {@link BuildRequest#of} validates it. It is read from the raw parameter map ({@link #of}), never by Spring's
 * binding: that binding joins a repeated value with commas and splits {@code buildArg=A=1,2} in two, and a typo'd
 * parameter would vanish. What only the raw map knows, the names not in the query and the single-valued ones given
 * more than once, travels in the hidden components so that every problem is still reported at once.
 */
record BuildQuery(
        @Parameter(required = true, description = "<team>/<name>") String image,
        @Parameter(required = true) String tag,
        @Parameter(description = "path inside the context (Dockerfile)") String dockerfile,
        @Parameter(description = "the stage to build") String target,
        @Parameter(description = "KEY=VALUE, repeatable") List<String> buildArg,
        @Parameter(description = "KEY=VALUE, repeatable") List<String> label,
        @Parameter(schema = @Schema(type = "boolean")) String noCache,
        @Parameter(description = "the id of an earlier build of the same team whose egress fetches this build is"
                + " pinned to (docs/egress.md)", schema = @Schema(type = "string", format = "uuid"))
        String pinFetchesFrom,
        @Parameter(hidden = true) Set<String> unknown,
        @Parameter(hidden = true) Set<String> repeated) {

    private static final List<String> SINGLE = List.of("image", "tag", "dockerfile", "target", "noCache",
            "pinFetchesFrom");

    /** The query from a servlet parameter map, {@code allowed} naming the parameters the endpoint takes. */
    static BuildQuery of(Map<String, String[]> parameters, Set<String> allowed) {
        Set<String> unknown = new LinkedHashSet<>();
        for (String name : parameters.keySet()) {
            if (!allowed.contains(name)) {
                unknown.add(name);
            }
        }
        Set<String> repeated = new LinkedHashSet<>();
        for (String name : SINGLE) {
            String[] values = parameters.get(name);
            if (values != null && values.length > 1) {
                repeated.add(name);
            }
        }
        return new BuildQuery(first(parameters, "image"), first(parameters, "tag"), first(parameters, "dockerfile"),
                first(parameters, "target"), all(parameters, "buildArg"), all(parameters, "label"),
                first(parameters, "noCache"), first(parameters, "pinFetchesFrom"), unknown, repeated);
    }

    private static String first(Map<String, String[]> parameters, String name) {
        String[] values = parameters.get(name);
        return values == null || values.length == 0 ? null : values[0];
    }

    private static List<String> all(Map<String, String[]> parameters, String name) {
        String[] values = parameters.get(name);
        return values == null ? null : new ArrayList<>(List.of(values));
    }
}
