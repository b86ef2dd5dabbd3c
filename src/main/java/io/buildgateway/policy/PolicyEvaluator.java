package io.buildgateway.policy;

import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Dockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.dockerfile.Instruction;
import io.buildgateway.dockerfile.ParseError;
import io.buildgateway.dockerfile.Substitution;
import io.buildgateway.shared.Digest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.springframework.stereotype.Service;

/**
 * The built-in gate: every image the build could pull must be under an approved prefix, and the final stage must
 * name a non-root USER. Evaluated on the build as it will run: after substitution of the request's build args over
 * the ARG defaults, for the requested target.
 */
@Service
public class PolicyEvaluator {

    static final String RULESET_VERSION = "builtin-1";

    private final List<String> approved;
    private final String digest;

    PolicyEvaluator(PolicyProperties properties) {
        this.approved = List.copyOf(properties.approvedBasePrefixes());
        this.digest = digestOf(RULESET_VERSION + "\n" + String.join("\n", approved));
    }

    public String policyDigest() {
        return digest;
    }

    public List<String> approvedBasePrefixes() {
        return approved;
    }

    public Evaluation evaluate(String dockerfileText, Map<String, String> buildArgs, String target) {
        Dockerfile dockerfile = DockerfileParser.parse(dockerfileText);
        List<Finding> findings = new ArrayList<>();
        for (ParseError error : dockerfile.errors()) {
            findings.add(Finding.error("dockerfile-syntax", error.message(), error.line(), null));
        }
        String syntax = dockerfile.directives().get("syntax");
        if (syntax != null && !isApproved(syntax)) {
            findings.add(Finding.error("unapproved-image", "the # syntax= frontend image '" + syntax
                    + "' is not under an approved prefix " + approved, 1, null));
        }
        BuildStages.Plan plan = BuildStages.plan(dockerfile, buildArgs, target);
        if (plan == null) {
            if (dockerfile.instructions().stream().noneMatch(i -> i.keyword().equals("FROM"))) {
                findings.add(Finding.error("dockerfile-syntax", "the Dockerfile has no FROM instruction", 1, null));
            } else {
                findings.add(Finding.error("unknown-target", "build target '" + target + "' is not a stage name",
                        null, null));
            }
            return verdict(findings);
        }
        Set<String> stageNames = new java.util.HashSet<>();
        for (BuildStages.Stage stage : plan.stages()) {
            checkImage(stage.base(), stage.baseWritten(), stage.line(), "FROM", stage.parentStage() >= 0, findings);
            for (Instruction ins : stage.instructions()) {
                ins.flag("from").ifPresent(from -> {
                    if (ins.keyword().equals("COPY") || ins.keyword().equals("ADD")) {
                        boolean isStage = stageNames.contains(from.toLowerCase(Locale.ROOT)) || from.matches("\\d+");
                        checkImage(from, from, ins.line(), ins.keyword() + " --from", isStage, findings);
                    }
                });
                for (Instruction.Flag flag : ins.flags()) {
                    if (ins.keyword().equals("RUN") && flag.name().equals("mount")) {
                        for (String part : flag.value().split(",")) {
                            if (part.startsWith("from=")) {
                                String from = part.substring(5);
                                boolean isStage = stageNames.contains(from.toLowerCase(Locale.ROOT))
                                        || from.matches("\\d+");
                                checkImage(from, from, ins.line(), "RUN --mount from", isStage, findings);
                            }
                        }
                    }
                }
            }
            if (stage.name() != null) {
                stageNames.add(stage.name());
            }
        }
        checkFinalUser(plan, dockerfile.escape(), findings);
        return verdict(findings);
    }

    private void checkImage(String resolved, String written, int line, String where, boolean isStage,
            List<Finding> findings) {
        if (isStage || resolved.equalsIgnoreCase("scratch")) {
            return;
        }
        if (resolved.isBlank()) {
            findings.add(Finding.error("unapproved-image", where + " '" + written
                    + "' resolves to an empty image name", line, where));
            return;
        }
        if (!isApproved(resolved)) {
            String shown = resolved.equals(written) ? "'" + resolved + "'" : "'" + written + "' (resolves to '"
                    + resolved + "')";
            findings.add(Finding.error("unapproved-image", where + " image " + shown
                    + " is not under an approved prefix " + approved, line, where));
        }
    }

    private boolean isApproved(String image) {
        if (image.contains("..") || image.contains("$")) {
            return false;
        }
        return approved.stream().anyMatch(image::startsWith);
    }

    private static void checkFinalUser(BuildStages.Plan plan, char escape, List<Finding> findings) {
        List<BuildStages.Stage> chain = plan.targetChain();
        for (BuildStages.Stage stage : chain) {
            Map<String, String> scope = new HashMap<>();
            Instruction lastUser = null;
            String lastUserValue = null;
            for (Instruction ins : stage.instructions()) {
                switch (ins.keyword()) {
                    case "ARG" -> {
                        for (String decl : ins.words()) {
                            int eq = decl.indexOf('=');
                            String name = eq < 0 ? decl : decl.substring(0, eq);
                            String declared = eq < 0 ? null
                                    : Substitution.expand(decl.substring(eq + 1), scope::get, escape);
                            scope.put(name, plan.stageArg(name, declared));
                        }
                    }
                    case "ENV" -> envInto(ins, scope, escape);
                    case "USER" -> {
                        lastUser = ins;
                        lastUserValue = Substitution.expand(ins.arguments().strip(), scope::get, escape);
                    }
                    default -> {
                    }
                }
            }
            if (lastUser != null) {
                String user = lastUserValue.split(":", 2)[0].strip();
                if (user.isEmpty() || user.equals("root") || user.matches("0+")) {
                    String shown = lastUserValue.equals(lastUser.arguments().strip()) ? lastUserValue
                            : lastUser.arguments().strip() + " (resolves to '" + lastUserValue + "')";
                    findings.add(Finding.error("final-user-root", "the final stage runs as root: USER " + shown,
                            lastUser.line(), "USER"));
                }
                return;
            }
        }
        BuildStages.Stage target = plan.targetStage();
        findings.add(Finding.error("final-user-root",
                "the final stage sets no USER, so the image would run as its base's user (root for most bases);"
                        + " add USER with a non-root user", target.line(), "FROM"));
    }

    private static void envInto(Instruction ins, Map<String, String> scope, char escape) {
        String args = ins.arguments().strip();
        List<String> words = ins.words();
        if (!words.isEmpty() && !words.get(0).contains("=")) {
            int space = args.indexOf(' ');
            if (space > 0) {
                scope.put(args.substring(0, space), Substitution.expand(args.substring(space + 1).strip(), scope::get,
                        escape));
            }
            return;
        }
        for (String pair : words) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                scope.put(pair.substring(0, eq), Substitution.expand(pair.substring(eq + 1), scope::get, escape));
            }
        }
    }

    private Evaluation verdict(List<Finding> findings) {
        boolean passed = findings.stream().noneMatch(f -> f.severity() == Finding.Severity.error
                && !Boolean.TRUE.equals(f.waived()));
        return new Evaluation(passed, digest, findings);
    }

    private static String digestOf(String text) {
        try {
            return Digest.sha256(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)))
                    .value();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
