package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.Instruction;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What rules look at: the parsed Dockerfile, the build as it will run (stages after substitution, the target), the
 * request (build args, team, image) and, when a whole context was sent, its file names. Lives for one evaluation
 * and remembers what several rules derive (the split shell commands of each RUN, the images the build pulls), so
 * that 55 rules cost one parse of each.
 */
final class Subject {

    private final Dockerfile dockerfile;
    private final BuildStages.Plan plan;
    private final Map<String, String> buildArgs;
    private final String target;
    private final String team;
    private final String image;
    private final PolicyDocument policy;
    private final Set<String> contextFiles;
    private final Map<Instruction, List<ShellCommands.Command>> commands = new IdentityHashMap<>();
    private List<Located> located;
    private List<BuiltinRules.Pull> pulls;
    private List<BuildStages.Stage> targetChain;

    Subject(Dockerfile dockerfile, BuildStages.Plan plan, Map<String, String> buildArgs, String target, String team,
            String image, PolicyDocument policy, Set<String> contextFiles) {
        this.dockerfile = dockerfile;
        this.plan = plan;
        this.buildArgs = buildArgs;
        this.target = target;
        this.team = team;
        this.image = image;
        this.policy = policy;
        this.contextFiles = contextFiles;
    }

    Dockerfile dockerfile() {
        return dockerfile;
    }

    BuildStages.Plan plan() {
        return plan;
    }

    Map<String, String> buildArgs() {
        return buildArgs;
    }

    String target() {
        return target;
    }

    String team() {
        return team;
    }

    String image() {
        return image;
    }

    PolicyDocument policy() {
        return policy;
    }

    Set<String> contextFiles() {
        return contextFiles;
    }

    /** Every instruction with the index of its stage ({@code -1} before the first FROM). */
    record Located(Instruction instruction, int stage) {
    }

    List<Located> located() {
        if (located == null) {
            List<Located> out = new ArrayList<>();
            int stage = -1;
            for (Instruction i : dockerfile.instructions()) {
                if (i.keyword().equals("FROM")) {
                    stage++;
                }
                out.add(new Located(i, stage));
            }
            located = out;
        }
        return located;
    }

    /** The simple commands of a RUN (or of an ONBUILD RUN trigger), split once. */
    List<ShellCommands.Command> commands(Instruction run) {
        return commands.computeIfAbsent(run, r -> ShellCommands.split(r.keyword().equals("ONBUILD")
                ? r.arguments().substring(4) : script(r)));
    }

    List<BuiltinRules.Pull> pulls() {
        if (pulls == null) {
            pulls = BuiltinRules.pulls(this);
        }
        return pulls;
    }

    List<BuildStages.Stage> targetChain() {
        if (targetChain == null) {
            targetChain = plan == null ? List.of() : plan.targetChain();
        }
        return targetChain;
    }

    /** The shell text a RUN executes: the command (exec form joined) and its heredoc bodies. */
    static String script(Instruction run) {
        if (run.heredocs().isEmpty() && !run.isJsonForm()) {
            return run.arguments();
        }
        StringBuilder out = new StringBuilder(run.isJsonForm() ? String.join(" ", run.json()) : run.arguments());
        for (Instruction.Heredoc h : run.heredocs()) {
            out.append('\n').append(h.body());
        }
        return out.toString();
    }
}
