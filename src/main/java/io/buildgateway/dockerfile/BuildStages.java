package io.buildgateway.dockerfile;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The build as it will actually run: stages with their base after build-arg substitution (global ARGs with the
 * request's build args over their defaults), which stage is the target, and the stages it depends on.
 */
public final class BuildStages {

    private BuildStages() {
    }

    /**
     * A stage: its index, optional name, the FROM line, the base as written and as resolved, the index of the stage
     * it builds on ({@code -1} when its base is an image), and its instructions after FROM.
     */
    public record Stage(int index, String name, int line, String baseWritten, String base, int parentStage,
            List<Instruction> instructions) {
        public boolean fromImage() {
            return parentStage < 0 && !base.equalsIgnoreCase("scratch");
        }
    }

    public record Plan(List<Stage> stages, int target, Map<String, String> globalArgs,
            Map<String, String> buildArgs) {
        public Stage targetStage() {
            return stages.get(target);
        }

        /**
         * The value of an {@code ARG} declared inside a stage, as the builder resolves it: the request's build arg
         * if given, else the declaration's default, else the global ARG of that name.
         */
        public String stageArg(String name, String declaredDefault) {
            if (buildArgs.containsKey(name)) {
                return buildArgs.get(name);
            }
            return declaredDefault != null ? declaredDefault : globalArgs.get(name);
        }

        /** The target stage and the chain of stages it is built FROM, target first. */
        public List<Stage> targetChain() {
            List<Stage> chain = new ArrayList<>();
            Stage s = targetStage();
            while (s != null && chain.size() <= stages.size()) {
                chain.add(s);
                s = s.parentStage() >= 0 ? stages.get(s.parentStage()) : null;
            }
            return chain;
        }
    }

    /**
     * The platform the build hosts build: linux/amd64, the only one these gateways run (the Docker API's
     * {@code gateway.docker-api.platform} defaults to it; a gateway whose hosts build another platform must change
     * this constant too, or {@code FROM ...${TARGETARCH}} is judged for amd64).
     */
    public static final String HOST_PLATFORM = "linux/amd64";

    /**
     * The arguments BuildKit defines in the global scope without an {@code ARG} line, so usable in {@code FROM}
     * (a review's finding, 2026-12-07: unknown here, {@code FROM ${TARGETARCH:-…}} was judged with the default while
     * BuildKit built with the platform or with a build arg of that name). The gateway refuses build args of these
     * names (the build platform is the host's).
     */
    public static final Map<String, String> PLATFORM_ARGS = platformArgs(HOST_PLATFORM);

    private static Map<String, String> platformArgs(String platform) {
        String[] p = platform.split("/", 3);
        Map<String, String> args = new LinkedHashMap<>();
        for (String side : List.of("BUILD", "TARGET")) {
            args.put(side + "PLATFORM", platform);
            args.put(side + "OS", p[0]);
            args.put(side + "ARCH", p.length > 1 ? p[1] : "");
            args.put(side + "VARIANT", p.length > 2 ? p[2] : "");
        }
        return Map.copyOf(args);
    }

    /** {@link #plan(Dockerfile, Map, String, boolean)} for a builder without predefined platform arguments. */
    public static Plan plan(Dockerfile dockerfile, Map<String, String> buildArgs, String target) {
        return plan(dockerfile, buildArgs, target, false);
    }

    /**
     * Returns null when the target stage does not exist or there is no FROM. {@code buildKit}: the build host builds
     * with BuildKit, which defines {@link #PLATFORM_ARGS} in the global scope (the classic builder does not: there
     * they are unset, as any undeclared name).
     */
    public static Plan plan(Dockerfile dockerfile, Map<String, String> buildArgs, String target, boolean buildKit) {
        Map<String, String> globals = new LinkedHashMap<>(buildKit ? PLATFORM_ARGS : Map.of());
        List<Stage> stages = new ArrayList<>();
        Map<String, Integer> byName = new HashMap<>();
        List<Instruction> current = null;
        int currentIndex = -1;
        String currentName = null;
        int currentLine = 0;
        String currentWritten = null;
        String currentBase = null;
        int currentParent = -1;
        for (Instruction ins : dockerfile.instructions()) {
            if (ins.keyword().equals("FROM")) {
                if (current != null) {
                    stages.add(new Stage(currentIndex, currentName, currentLine, currentWritten, currentBase,
                            currentParent, current));
                }
                List<String> words = ins.words(dockerfile.escape());
                String written = words.isEmpty() ? "" : words.get(0);
                String resolved = Substitution.expand(written, globals::get, dockerfile.escape());
                currentIndex = stages.size();
                currentName = words.size() >= 3 && words.get(1).equalsIgnoreCase("AS")
                        ? words.get(2).toLowerCase(Locale.ROOT) : null;
                currentLine = ins.line();
                currentWritten = written;
                currentBase = resolved;
                Integer parent = byName.isEmpty() ? null : byName.get(resolved.toLowerCase(Locale.ROOT));
                currentParent = parent == null ? -1 : parent;
                if (currentName != null) {
                    byName.putIfAbsent(currentName, currentIndex);
                }
                current = new ArrayList<>();
            } else if (current == null) {
                if (ins.keyword().equals("ARG")) {
                    for (String decl : ins.words(dockerfile.escape())) {
                        int eq = decl.indexOf('=');
                        String name = eq < 0 ? decl : decl.substring(0, eq);
                        String value = buildArgs.containsKey(name) ? buildArgs.get(name)
                                : eq < 0 ? null : Substitution.expand(decl.substring(eq + 1), globals::get,
                                        dockerfile.escape());
                        globals.put(name, value);
                    }
                }
            } else {
                current.add(ins);
            }
        }
        if (current == null) {
            return null;
        }
        stages.add(new Stage(currentIndex, currentName, currentLine, currentWritten, currentBase, currentParent,
                current));
        int targetIndex = stages.size() - 1;
        if (target != null && !target.isEmpty()) {
            Integer named = byName.get(target.toLowerCase(Locale.ROOT));
            if (named == null) {
                return null;
            }
            targetIndex = named;
        }
        return new Plan(stages, targetIndex, globals, Map.copyOf(buildArgs));
    }
}
