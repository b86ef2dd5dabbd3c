package io.buildgateway.policy;

import io.buildgateway.dockerfile.Instruction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The shell scripts of a Dockerfile as ShellCheck should see them (pure: no I/O). Every shell-form RUN (and
 * {@code ONBUILD RUN}) becomes one script whose lines are the Dockerfile's own lines, so that a ShellCheck line maps
 * back by an offset: the instruction keyword and flags are blanked (columns stay), a continuation's escape becomes
 * the shell's {@code \}, and the comment and blank lines the builder drops inside a continuation become a bare
 * {@code \} line. Heredocs stay where they are (a Dockerfile heredoc is a shell heredoc); a RUN that is only a
 * heredoc ({@code RUN <<EOF}) or a shell fed one ({@code RUN bash -e <<EOF}) has its body checked as the script.
 * Each script is written with a header: a shebang for the dialect (from the stage's SHELL, or the body's own
 * shebang) and an {@code export} of the ARG/ENV names in scope, so ShellCheck knows them (no SC2154).
 * Exec-form RUNs and scripts for other interpreters (SHELL powershell, {@code #!/usr/bin/env python}) are skipped.
 */
final class ShellScripts {

    /** Lines before the script's first line: the shebang and the export of known names. */
    static final int HEADER_LINES = 2;

    /** The proxy variables the builder passes to RUN when they are given as build args (predefined ARGs). */
    private static final List<String> PREDEFINED = List.of("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
            "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy");

    private ShellScripts() {
    }

    /**
     * One script: {@code firstLine} is the Dockerfile line of the script's first line (after the header),
     * {@code instructionLine} the line of its RUN, {@code shell} one of sh, bash, dash, ksh.
     */
    record Script(int instructionLine, String keyword, int firstLine, String shell, String text) {

        /** The Dockerfile line of a ShellCheck line in this script, or -1 for a line of the header. */
        int dockerfileLine(int scriptLine) {
            return scriptLine <= HEADER_LINES ? -1 : firstLine + scriptLine - HEADER_LINES - 1;
        }
    }

    /** ShellCheck's dialect for an interpreter path ({@code /bin/bash}, {@code /usr/bin/env sh}), or null. */
    static String dialect(String interpreter) {
        String p = interpreter.strip();
        if (p.startsWith("/usr/bin/env ") || p.startsWith("/bin/env ")) {
            p = p.substring(p.indexOf(' ') + 1).strip();
            int sp = p.indexOf(' ');
            if (sp > 0) {
                p = p.substring(0, sp);
            }
        } else {
            int sp = p.indexOf(' ');
            if (sp > 0) {
                p = p.substring(0, sp);
            }
        }
        String base = p.substring(p.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        return switch (base) {
            case "sh", "ash" -> "sh";
            case "bash" -> "bash";
            case "dash" -> "dash";
            case "ksh", "mksh", "ksh93" -> "ksh";
            default -> null;
        };
    }

    /** What a stage hands on to a stage built FROM it: its shell and the names in scope. */
    private record Scope(String shell, Set<String> names) {
    }

    static List<Script> of(Subject subject, String dockerfileText) {
        List<String> lines = lines(dockerfileText);
        char escape = subject.dockerfile().escape();
        List<Script> out = new ArrayList<>();
        Map<String, Scope> stages = new LinkedHashMap<>();
        String shell = null;
        String stageName = null;
        Set<String> names = new LinkedHashSet<>();
        int stageIndex = -1;
        for (Instruction i : subject.dockerfile().instructions()) {
            switch (i.keyword()) {
                case "FROM" -> {
                    if (stageIndex >= 0) {
                        // A later FROM <name> or FROM <index> starts with this stage's shell and names.
                        Scope ended = new Scope(shell, Set.copyOf(names));
                        stages.put(String.valueOf(stageIndex), ended);
                        if (stageName != null) {
                            stages.put(stageName, ended);
                        }
                    }
                    stageIndex++;
                    List<String> words = subject.words(i);
                    Scope parent = stages.get(words.get(0).toLowerCase(Locale.ROOT));
                    shell = parent == null ? "sh" : parent.shell();
                    names = new LinkedHashSet<>(parent == null ? Set.of() : parent.names());
                    stageName = words.size() >= 3 && words.get(1).equalsIgnoreCase("as")
                            ? words.get(2).toLowerCase(Locale.ROOT) : null;
                }
                case "SHELL" -> {
                    if (i.isJsonForm() && !i.json().isEmpty()) {
                        shell = dialect(i.json().get(0));
                    }
                }
                case "ARG" -> names.addAll(subject.argPairs(i).keySet());
                case "ENV" -> names.addAll(subject.env(i).keySet());
                case "RUN", "ONBUILD" -> {
                    boolean onbuild = i.keyword().equals("ONBUILD");
                    if (onbuild && !i.arguments().regionMatches(true, 0, "RUN ", 0, 4)) {
                        break;
                    }
                    if (stageIndex < 0 || shell == null || (!onbuild && i.isJsonForm())
                            || (onbuild && i.arguments().substring(4).stripLeading().startsWith("["))) {
                        break;
                    }
                    Script s = script(i, lines, escape, shell, names, onbuild);
                    if (s != null) {
                        out.add(s);
                    }
                }
                default -> {
                }
            }
        }
        return out;
    }

    private static Script script(Instruction i, List<String> lines, char escape, String shell, Set<String> names,
            boolean onbuild) {
        int first = i.line() - 1;
        if (first >= lines.size()) {
            return null;
        }
        // The command lines: from the instruction's line through the first line that does not continue.
        List<String> command = new ArrayList<>();
        int k = first;
        boolean prefix = true;
        while (k < lines.size()) {
            String raw = lines.get(k);
            String line = raw;
            if (k > first && (raw.isBlank() || raw.strip().startsWith("#"))) {
                command.add("\\");
                k++;
                continue;
            }
            if (prefix) {
                int[] cut = new int[] {0};
                prefix = blankPrefix(line, cut, k == first, onbuild);
                line = " ".repeat(cut[0]) + line.substring(cut[0]);
            }
            String trimmed = stripTrailing(line);
            k++;
            if (!trimmed.isEmpty() && trimmed.charAt(trimmed.length() - 1) == escape) {
                command.add(trimmed.substring(0, trimmed.length() - 1) + "\\");
            } else {
                command.add(line);
                break;
            }
        }
        int bodyStart = k; // 0-based index of the first line after the command
        StringBuilder header = new StringBuilder();
        String dialect = shell;
        String joined = String.join("\n", command).strip();
        List<String> scriptLines;
        int firstLine;
        String feeder = heredocFeeder(joined);
        if (i.heredocs().size() == 1 && feeder != null) {
            // RUN <<EOF (the body is the script) or RUN bash <<EOF (the body is that shell's script).
            List<String> body = lines(i.heredocs().get(0).body());
            if (!body.isEmpty() && body.get(body.size() - 1).isEmpty()) {
                body.remove(body.size() - 1);
            }
            if (!feeder.isEmpty()) {
                dialect = dialect(feeder);
            } else if (!body.isEmpty() && body.get(0).startsWith("#!")) {
                dialect = dialect(body.get(0).substring(2));
                body.set(0, "");
            }
            if (dialect == null) {
                return null;
            }
            scriptLines = body;
            firstLine = bodyStart + 1;
        } else {
            scriptLines = new ArrayList<>(command);
            int end = Math.min(i.endLine(), lines.size());
            for (int b = bodyStart; b < end; b++) {
                scriptLines.add(lines.get(b));
            }
            firstLine = i.line();
        }
        header.append("#!/bin/").append(dialect).append('\n');
        List<String> known = new ArrayList<>(names);
        known.addAll(PREDEFINED);
        header.append("export");
        for (String n : known) {
            if (!identifier(n)) {
                continue;
            }
            header.append(' ').append(n).append("=''");
        }
        header.append('\n');
        for (String l : scriptLines) {
            header.append(l).append('\n');
        }
        return new Script(i.line(), onbuild ? "ONBUILD" : "RUN", firstLine, dialect, header.toString());
    }

    /**
     * For a command that only feeds one heredoc to a shell: "" for {@code <<EOF} alone, the program for
     * {@code bash -e <<EOF}; null for anything else ({@code cat <<EOF >file}: the whole RUN is the script).
     */
    private static String heredocFeeder(String command) {
        String[] words = command.split("\\s+");
        if (words.length == 0 || !words[words.length - 1].startsWith("<<")) {
            return null;
        }
        if (words.length == 1) {
            return "";
        }
        if (dialect(words[0]) == null) {
            return null;
        }
        for (int w = 1; w < words.length - 1; w++) {
            if (!words[w].startsWith("-") || words[w].equals("-c")) {
                return null;
            }
        }
        return words[0];
    }

    /**
     * Blanks the keyword ({@code RUN}, or {@code ONBUILD RUN}) and the leading {@code --flags} of a line: sets
     * {@code cut[0]} to how many leading characters to blank; returns whether the script has not started yet
     * (flags continue on the next line).
     */
    private static boolean blankPrefix(String line, int[] cut, boolean firstLine, boolean onbuild) {
        int n = line.length();
        int p = 0;
        while (p < n && Character.isWhitespace(line.charAt(p))) {
            p++;
        }
        if (firstLine) {
            p = skipWord(line, p);
            if (onbuild) {
                p = skipSpace(line, p);
                p = skipWord(line, p);
            }
        }
        while (true) {
            int q = skipSpace(line, p);
            if (q + 1 < n && line.charAt(q) == '-' && line.charAt(q + 1) == '-') {
                p = skipWord(line, q);
                continue;
            }
            cut[0] = p;
            String rest = line.substring(q).strip();
            // Only flags (and perhaps the continuation's escape) on this line: the script starts further down.
            return rest.isEmpty() || rest.equals("\\") || rest.equals("`");
        }
    }

    private static boolean identifier(String n) {
        if (n.isEmpty() || !(Character.isLetter(n.charAt(0)) || n.charAt(0) == '_')) {
            return false;
        }
        for (int c = 0; c < n.length(); c++) {
            char ch = n.charAt(c);
            if (ch > 127 || !(Character.isLetterOrDigit(ch) || ch == '_')) {
                return false;
            }
        }
        return true;
    }

    private static int skipWord(String s, int p) {
        while (p < s.length() && !Character.isWhitespace(s.charAt(p))) {
            p++;
        }
        return p;
    }

    private static int skipSpace(String s, int p) {
        while (p < s.length() && Character.isWhitespace(s.charAt(p))) {
            p++;
        }
        return p;
    }

    private static String stripTrailing(String s) {
        int e = s.length();
        while (e > 0 && Character.isWhitespace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(0, e);
    }

    /** Lines as the parser splits them (\n, \r\n or \r; a BOM dropped). */
    static List<String> lines(String text) {
        List<String> out = new ArrayList<>();
        int start = !text.isEmpty() && text.charAt(0) == '\uFEFF' ? 1 : 0;
        int n = text.length();
        for (int i = start; i < n; i++) {
            char c = text.charAt(i);
            if (c == '\n' || c == '\r') {
                out.add(text.substring(start, i));
                if (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < n) {
            out.add(text.substring(start, n));
        }
        return out;
    }
}
