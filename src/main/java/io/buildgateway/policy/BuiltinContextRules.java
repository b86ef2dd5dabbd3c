package io.buildgateway.policy;

import static io.buildgateway.policy.BuiltinRules.add;

import io.buildgateway.dockerfile.Instruction;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** Rules about the build context as sent (only when a whole context is evaluated, not a lone Dockerfile). */
final class BuiltinContextRules {

    private static final Pattern SECRET_FILE = Pattern.compile("(?i)(^|/)(id_(rsa|dsa|ecdsa|ed25519)(\\.pub)?"
            + "|[^/]+\\.(pem|key|p12|pfx|jks|keystore|kdbx|ppk|asc)|\\.env(\\.[^/]+)?|\\.npmrc|\\.pypirc|\\.netrc"
            + "|\\.git-credentials|\\.htpasswd|credentials(\\.json)?|\\.dockercfg|\\.docker/config\\.json"
            + "|\\.aws/(credentials|config)|\\.kube/config|\\.ssh/[^/]+|secrets?\\.(ya?ml|json|env)"
            + "|terraform\\.tfstate(\\.backup)?)$");

    private BuiltinContextRules() {
    }

    static void register() {
        add("context-secret-file", Finding.Severity.error, "context", "No secrets in the build context",
                "Private keys, .env files, cloud, registry and package-manager credentials in the context are sent"
                        + " to the build host and can end up in a layer through a broad COPY. Keep them out of the"
                        + " archive (or in .dockerignore when building with the Docker CLI) and use build secrets.",
                List.of("DS031", "CIS-4.10"),
                (s, emit) -> {
                    if (s.contextFiles() == null) {
                        return;
                    }
                    s.contextFiles().stream().filter(f -> SECRET_FILE.matcher(f).find()
                                    && !f.endsWith(".pub") && !f.toLowerCase(Locale.ROOT).endsWith(".example"))
                            .sorted().limit(50)
                            .forEach(f -> emit.emit(null, null, "the context contains " + f
                                    + ", which looks like a secret"));
                });
        add("context-git-directory", Finding.Severity.warning, "context", "No .git folder in the context",
                "The .git folder holds the whole history, often including secrets that were deleted later.",
                List.of(),
                (s, emit) -> {
                    if (s.contextFiles() != null && s.contextFiles().stream().anyMatch(f -> f.startsWith(".git/"))) {
                        emit.emit(null, null, "the context contains the .git folder");
                    }
                });
        add("missing-dockerignore", Finding.Severity.info, "context", "The context has a .dockerignore",
                "Without .dockerignore, whatever lies in the folder is sent and can be copied.", List.of(),
                (s, emit) -> {
                    if (s.contextFiles() != null && !s.contextFiles().contains(".dockerignore")) {
                        emit.emit(null, null, "the context has no .dockerignore");
                    }
                });
        add("copy-source-missing", Finding.Severity.error, "context", "COPY and ADD sources exist in the context",
                "A source that is not in the context fails the build late, or (with a wildcard) silently copies"
                        + " nothing; a source outside the context cannot be copied at all.", List.of(),
                (s, emit) -> {
                    if (s.contextFiles() == null) {
                        return;
                    }
                    for (String keyword : List.of("COPY", "ADD")) {
                        for (Instruction i : s.instructions(keyword)) {
                            if (i.flag("from").isEmpty() && i.heredocs().isEmpty()) {
                                missingSources(s, i, emit);
                            }
                        }
                    }
                });
    }

    private static void missingSources(Subject s, Instruction i, BuiltinRules.Emitter emit) {
        for (String source : BuiltinInstructionRules.sources(s, i)) {
            // Only ADD fetches remote sources; COPY reads every source from the context, whatever it looks like.
            if (source.contains("$") || i.keyword().equals("ADD") && BuiltinInstructionRules.isUrl(source)) {
                continue;
            }
            String normalized = normalize(source);
            if (normalized == null) {
                emit.emit(i.line(), i.keyword(), i.keyword() + " source " + source + " is outside the context");
            } else if (!present(normalized, s)) {
                emit.emit(i.line(), i.keyword(), i.keyword() + " source " + source + " is not in the context");
            }
        }
    }

    private static boolean present(String source, Subject s) {
        if (source.isEmpty() || source.equals(".")) {
            return true;
        }
        if (source.contains("*") || source.contains("?") || source.contains("[")) {
            PathMatcher m;
            try {
                m = FileSystems.getDefault().getPathMatcher("glob:" + source);
            } catch (IllegalArgumentException broken) { // PatternSyntaxException included
                // A malformed pattern (an unclosed '[') matches nothing for the builder either: report it missing.
                return false;
            }
            return s.contextFiles().stream().anyMatch(f -> {
                try {
                    return m.matches(Path.of(f));
                } catch (java.nio.file.InvalidPathException odd) {
                    return false;
                }
            });
        }
        String dir = source.endsWith("/") ? source : source + "/";
        return s.contextFiles().contains(source) || s.contextFiles().stream().anyMatch(f -> f.startsWith(dir));
    }

    /** The source relative to the context root, or null when it climbs out of it. */
    static String normalize(String source) {
        java.util.Deque<String> parts = new java.util.ArrayDeque<>();
        for (String p : source.split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                if (parts.isEmpty()) {
                    return null;
                }
                parts.removeLast();
            } else {
                parts.add(p);
            }
        }
        return String.join("/", parts);
    }
}
