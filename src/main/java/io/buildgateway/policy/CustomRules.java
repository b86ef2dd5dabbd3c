package io.buildgateway.policy;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import io.buildgateway.dockerfile.BuildStages;
import io.buildgateway.dockerfile.Instruction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Custom rules written in CEL, declared in the policy files under {@code customRules}. Each is compiled and
 * type-checked when the policy loads (a broken expression refuses the policy) and evaluated once per instruction
 * ({@code scope: instruction}, the default) or once per build ({@code scope: build}). A true result is a finding.
 *
 * <p>The model (documented in docs/policy-rules.md): {@code instruction} — {@code keyword}, {@code arguments},
 * {@code words}, {@code flags} (map), {@code json} (list, empty for shell form), {@code line}, {@code stage};
 * {@code dockerfile} — {@code instructions}, {@code stages} ({@code name}, {@code base}, {@code baseWritten},
 * {@code fromStage}, {@code line}, {@code index}), {@code target} (index of the target stage), {@code directives};
 * {@code request} — {@code image}, {@code team}, {@code target}, {@code buildArgs} (map).
 */
final class CustomRules {

    private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
            .setStandardMacros(dev.cel.parser.CelStandardMacro.STANDARD_MACROS)
            .addVar("instruction", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("dockerfile", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .addVar("request", MapType.create(SimpleType.STRING, SimpleType.DYN))
            .setResultType(SimpleType.BOOL)
            .build();
    private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder().build();

    /** A compiled custom rule. */
    record CustomRule(RuleInfo info, boolean perInstruction, String message, CelRuntime.Program program) {
    }

    private CustomRules() {
    }

    static CustomRule compile(String id, Finding.Severity severity, String description, String expression,
            boolean perInstruction, String message, String where) {
        CelValidationResult result = COMPILER.compile(expression);
        if (result.hasError()) {
            throw new PolicyDocument.InvalidPolicyException(where + ".expression: " + result.getErrorString()
                    .lines().findFirst().orElse("does not compile"));
        }
        try {
            CelAbstractSyntaxTree ast = result.getAst();
            return new CustomRule(new RuleInfo(id, severity, "custom", description,
                    "A custom rule of the policy, in CEL: " + expression, List.of()), perInstruction,
                    message == null ? description : message, RUNTIME.createProgram(ast));
        } catch (dev.cel.common.CelValidationException | CelEvaluationException e) {
            throw new PolicyDocument.InvalidPolicyException(where + ".expression: " + e.getMessage());
        }
    }

    /** Runs every custom rule on a subject. An evaluation error is itself a finding: rules fail closed. */
    static void run(CustomRule rule, Subject s, BuiltinRules.Emitter emit) {
        // The model depends on the subject only: built for the first custom rule, read by the others.
        Models models = s.customRuleModels();
        if (models == null) {
            Map<String, Object> request = new LinkedHashMap<>();
            request.put("image", s.image() == null ? "" : s.image());
            request.put("team", s.team() == null ? "" : s.team());
            request.put("target", s.target() == null ? "" : s.target());
            request.put("buildArgs", s.buildArgs());
            models = new Models(model(s), request);
            s.customRuleModels(models);
        }
        Map<String, Object> dockerfile = models.dockerfile();
        Map<String, Object> request = models.request();
        if (!rule.perInstruction()) {
            evaluate(rule, Map.of("instruction", Map.of(), "dockerfile", dockerfile, "request", request), null,
                    null, emit);
            return;
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> instructions = (List<Map<String, Object>>) dockerfile.get("instructions");
        for (Map<String, Object> instruction : instructions) {
            evaluate(rule, Map.of("instruction", instruction, "dockerfile", dockerfile, "request", request),
                    ((Long) instruction.get("line")).intValue(), (String) instruction.get("keyword"), emit);
        }
    }

    private static void evaluate(CustomRule rule, Map<String, Object> vars, Integer line, String keyword,
            BuiltinRules.Emitter emit) {
        try {
            if (Boolean.TRUE.equals(rule.program().eval(vars))) {
                emit.emit(line, keyword, rule.message());
            }
        } catch (CelEvaluationException e) {
            emit.emit(line, keyword, "custom rule could not be evaluated (" + e.getMessage().lines().findFirst()
                    .orElse("error") + "); failing closed");
        }
    }

    /** What CEL sees of one evaluation: {@code dockerfile} and {@code request}, the same for every custom rule. */
    record Models(Map<String, Object> dockerfile, Map<String, Object> request) {
    }

    static Map<String, Object> model(Subject s) {
        List<Map<String, Object>> instructions = new ArrayList<>();
        for (Subject.Located l : s.located()) {
            Instruction i = l.instruction();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("keyword", i.keyword());
            m.put("arguments", i.arguments());
            m.put("words", s.words(i)); // as the daemon splits them
            Map<String, String> flags = new LinkedHashMap<>();
            i.flags().forEach(f -> flags.putIfAbsent(f.name(), f.value()));
            m.put("flags", flags);
            m.put("json", i.isJsonForm() ? i.json() : List.of());
            m.put("line", (long) i.line());
            m.put("stage", (long) l.stage());
            instructions.add(m);
        }
        List<Map<String, Object>> stages = new ArrayList<>();
        if (s.plan() != null) {
            for (BuildStages.Stage st : s.plan().stages()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("index", (long) st.index());
                m.put("name", st.name() == null ? "" : st.name());
                m.put("base", st.base());
                m.put("baseWritten", st.baseWritten());
                m.put("fromStage", st.parentStage() >= 0);
                m.put("line", (long) st.line());
                stages.add(m);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("instructions", instructions);
        out.put("stages", stages);
        out.put("target", s.plan() == null ? -1L : (long) s.plan().target());
        out.put("directives", s.dockerfile().directives());
        return out;
    }

    static boolean validId(String id, Set<String> builtins) {
        return id.matches("[a-z0-9]+(-[a-z0-9]+)*") && !builtins.contains(id);
    }
}
