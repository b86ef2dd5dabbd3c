package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.Instruction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What rules look at: the parsed Dockerfile, the build as it will run (stages after substitution, the target), the
 * request (build args, team, image) and, when a whole context was sent, its file names.
 */
record Subject(Dockerfile dockerfile, BuildStages.Plan plan, Map<String, String> buildArgs, String target,
        String team, String image, PolicyDocument policy, Set<String> contextFiles) {

    /** Every instruction with the index of its stage ({@code -1} before the first FROM). */
    record Located(Instruction instruction, int stage) {
    }

    List<Located> located() {
        List<Located> out = new ArrayList<>();
        int stage = -1;
        for (Instruction i : dockerfile.instructions()) {
            if (i.keyword().equals("FROM")) {
                stage++;
            }
            out.add(new Located(i, stage));
        }
        return out;
    }

    /** The shell text a RUN executes: the command (exec form joined) and its heredoc bodies. */
    static String script(Instruction run) {
        StringBuilder out = new StringBuilder(run.isJsonForm() ? String.join(" ", run.json()) : run.arguments());
        for (Instruction.Heredoc h : run.heredocs()) {
            out.append('\n').append(h.body());
        }
        return out.toString();
    }

    boolean inTargetChain(int stage) {
        return plan != null && plan.targetChain().stream().anyMatch(s -> s.index() == stage);
    }
}
