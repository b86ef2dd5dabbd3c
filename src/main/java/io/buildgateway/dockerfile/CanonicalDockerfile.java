package io.buildgateway.dockerfile;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Writes the Dockerfile the daemon builds from the gateway's own parse, so that what the policy checked is what the
 * daemon runs: the directives the parse used written explicitly at the top ({@code # syntax=} when present, then
 * {@code # escape=} always), then one instruction per line as the parse joined it, with no comments, continuations
 * or blank lines; heredoc bodies only where the builder supports them. Whatever this form cannot express without
 * ambiguity is a problem, and then there is no text. The writer checks itself: its output is parsed again and must
 * give the same instructions, or it is refused.
 */
public final class CanonicalDockerfile {

    private CanonicalDockerfile() {
    }

    /**
     * The flags the classic builder of dockerd 20.10 accepts, by instruction (checked against it): any other is
     * "Unknown flag" before the first step. (ONBUILD's trigger is not checked until it fires.)
     */
    static final java.util.Map<String, java.util.Set<String>> CLASSIC_FLAGS = java.util.Map.of(
            "FROM", java.util.Set.of("platform"),
            "COPY", java.util.Set.of("from", "chown", "chmod"),
            "ADD", java.util.Set.of("chown", "chmod"),
            "RUN", java.util.Set.of("mount"),
            "HEALTHCHECK", java.util.Set.of("interval", "timeout", "start-period", "retries"));

    /** The canonical text ({@code null} when refused) and the problems that refused it. */
    public record Result(String text, List<Problem> problems) {
        public Result {
            problems = List.copyOf(problems);
        }
    }

    /** Why the canonical form cannot be written: a line of the input and what is wrong there. */
    public record Problem(int line, String message) {
    }

    /**
     * @param parsed the gateway's parse of the submitted Dockerfile
     * @param heredocsSupported whether the host's builder reads heredocs (BuildKit); the classic builder does not
     */
    public static Result write(Dockerfile parsed, boolean heredocsSupported) {
        return write(parsed, heredocsSupported, true);
    }

    /**
     * As {@link #write(Dockerfile, boolean)}; {@code selfCheck} false leaves out the re-parse of the output, for a
     * caller that only wants the problems (a lint: nothing is built from the text, and the re-parse was about a
     * tenth of a lint's time, docs/benchmarks.md). Whatever is built must come from a checked writing.
     */
    public static Result write(Dockerfile parsed, boolean heredocsSupported, boolean selfCheck) {
        List<Problem> problems = new ArrayList<>();
        if (!parsed.errors().isEmpty()) {
            problems.add(new Problem(parsed.errors().get(0).line(),
                    "no canonical Dockerfile can be written while it has syntax errors"));
            return new Result(null, problems);
        }
        StringBuilder out = new StringBuilder();
        String syntax = parsed.directives().get("syntax");
        if (syntax != null) {
            String problem = unwritable(syntax, '\\');
            if (problem != null) {
                problems.add(new Problem(1, "the syntax directive " + problem));
            }
            out.append("# syntax=").append(syntax).append('\n');
        }
        out.append("# escape=").append(parsed.escape()).append('\n');
        boolean staged = false;
        for (Instruction in : parsed.instructions()) {
            // The daemon refuses a file with an instruction other than ARG before its first FROM ("no build stage in
            // current context") or with no FROM at all, before it runs a step.
            if (in.keyword().equals("FROM")) {
                staged = true;
            } else if (!staged && !in.keyword().equals("ARG")) {
                problems.add(new Problem(in.line(), in.keyword() + " comes before the first FROM: the build host's"
                        + " builder refuses the file (no build stage)"));
                continue;
            }
            String line = in.original();
            String problem = unwritable(line, parsed.escape());
            if (problem != null) {
                problems.add(new Problem(in.line(), in.keyword() + " " + problem));
                continue;
            }
            if (!heredocsSupported) {
                for (Instruction.Flag flag : in.flags()) {
                    if (!CLASSIC_FLAGS.getOrDefault(in.keyword(), java.util.Set.of()).contains(flag.name())) {
                        problems.add(new Problem(in.line(), in.keyword() + " --" + flag.name() + " is unknown to the"
                                + " build host's builder (the classic builder of dockerd 20.10), which refuses it"));
                    }
                }
            }
            out.append(line).append('\n');
            if (!in.heredocs().isEmpty()) {
                if (!heredocsSupported) {
                    problems.add(new Problem(in.line(), in.keyword() + " has a heredoc, which the build host's builder"
                            + " does not read: it would run the lines of the document as instructions"));
                    continue;
                }
                for (Instruction.Heredoc h : in.heredocs()) {
                    String body = h.body();
                    for (String bodyLine : body.split("\n", -1)) {
                        if (bodyLine.equals(h.delimiter()) || hasControl(bodyLine, false)) {
                            problems.add(new Problem(in.line(), in.keyword() + " has a heredoc whose body cannot be"
                                    + " written unambiguously"));
                            break;
                        }
                    }
                    out.append(body).append(h.delimiter()).append('\n');
                }
            }
        }
        if (!staged && problems.isEmpty() && !parsed.instructions().isEmpty()) {
            problems.add(new Problem(1, "there is no FROM: the build host's builder refuses the file (no build stage)"));
        }
        if (!problems.isEmpty()) {
            return new Result(null, problems);
        }
        String text = out.toString();
        if (!selfCheck) {
            return new Result(text, problems);
        }
        String difference = difference(parsed, DockerfileParser.parse(text, heredocsSupported));
        if (difference != null) {
            problems.add(new Problem(difference.startsWith("@") ? Integer.parseInt(difference.substring(1,
                    difference.indexOf(' '))) : 1, "the canonical form would read differently: "
                    + difference.substring(difference.indexOf(' ') + 1)));
            return new Result(null, problems);
        }
        return new Result(text, problems);
    }

    /** Why this logical line cannot stand alone on a line of the canonical text, or null. */
    private static String unwritable(String line, char escape) {
        if (hasControl(line, false)) {
            return "has a control character (other than tab) the daemon would read differently";
        }
        if (!line.equals(DockerfileParser.goTrim(line))) {
            return "begins or ends with whitespace the daemon would trim";
        }
        if (DockerfileParser.continuation(line, escape) >= 0) {
            return "ends with the escape character, which would join it with the next line";
        }
        if (line.indexOf('\uFFFD') >= 0) {
            return "has a character that is not valid UTF-8";
        }
        if (DockerfileParser.utf8Length(line) > DockerfileParser.MAX_LINE_BYTES) {
            return "is longer than the daemon's " + DockerfileParser.MAX_LINE_BYTES + "-byte line limit once joined";
        }
        return null;
    }

    /** Control characters (C0, DEL, C1; line and paragraph separators; the BOM) other than tab. */
    private static boolean hasControl(String s, boolean allowCr) {
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            if ((c < 0x20 && c != '\t' && !(allowCr && c == '\r')) || (c >= 0x7F && c <= 0x9F) || c == 0x2028
                    || c == 0x2029 || c == '\uFEFF') {
                return true;
            }
        }
        return false;
    }

    /** The first difference between two parses' instructions and directives, as "@line what", or null. */
    static String difference(Dockerfile a, Dockerfile b) {
        if (!b.errors().isEmpty()) {
            return "@1 " + b.errors().get(0).message();
        }
        if (a.escape() != b.escape()) {
            return "@1 escape character " + a.escape() + " became " + b.escape();
        }
        if (!Objects.equals(a.directives().get("syntax"), b.directives().get("syntax"))) {
            return "@1 the syntax directive changed";
        }
        int n = Math.min(a.instructions().size(), b.instructions().size());
        for (int k = 0; k < n; k++) {
            Instruction x = a.instructions().get(k);
            Instruction y = b.instructions().get(k);
            if (!sameInstruction(x, y)) {
                return "@" + x.line() + " " + x.keyword() + " would read as " + y.keyword() + " with other arguments";
            }
        }
        if (a.instructions().size() != b.instructions().size()) {
            int line = n < a.instructions().size() ? a.instructions().get(n).line() : 1;
            return "@" + line + " " + a.instructions().size() + " instructions would read as "
                    + b.instructions().size();
        }
        return null;
    }

    /** Equal but for where they stand: keyword, flags, arguments, exec form, heredocs and the joined line. */
    public static boolean sameInstruction(Instruction x, Instruction y) {
        return x.keyword().equals(y.keyword()) && x.flags().equals(y.flags()) && x.arguments().equals(y.arguments())
                && Objects.equals(x.json(), y.json()) && x.heredocs().equals(y.heredocs())
                && x.original().equals(y.original());
    }
}
