package io.buildgateway.dockerfile;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded generator of Dockerfiles that probe the parser's corners: quotes, escapes (either escape character),
 * heredoc markers, directives (known, unknown, malformed), form feeds, CRLF, a BOM, continuations with comments and
 * blank lines between them, lone carriage returns, Unicode whitespace, lower-case keywords. Every instruction is
 * cheap for a real daemon: metadata, {@code RUN true}, and COPY of {@link #CONTEXT_FILES}.
 */
public final class DockerfileMutations {

    /** The files a generated Dockerfile may COPY: put them in the build context. */
    public static final List<String> CONTEXT_FILES = List.of("f1.txt", "d/f2.txt");

    private static final String[] METADATA = {
        "ENV A=1", "ENV B=\"x y\" C='z w'", "LABEL a=\"b c\" d=e", "ARG V=1", "WORKDIR /w", "USER 65534",
        "EXPOSE 8080", "CMD [\"true\"]", "ENTRYPOINT [\"/bin/true\"]", "STOPSIGNAL SIGTERM", "HEALTHCHECK NONE",
        "ONBUILD RUN true", "VOLUME /v", "SHELL [\"/bin/sh\", \"-c\"]", "COPY f1.txt /f1.txt",
        "COPY --chown=1:1 d/f2.txt /f2.txt", "ENV D=a\\ b", "LABEL e=\"<<EOF\"", "ENV P=\"a\\\"b\"",
        "LABEL f='it''s'", "ENV Q=<<EOF", "LABEL g=\"#not a comment\"", "ENV R=$A-x", "EXPOSE 80 443",
        "LABEL h=\"tab\there\"", "ADD f1.txt /added.txt", "COPY [\"f1.txt\", \"/j.txt\"]", "ENV S=a`b",
    };
    private static final String[] RUNS = {"RUN true", "RUN true \"<<EOF\"", "RUN [\"true\"]", "RUN true #x"};

    private DockerfileMutations() {
    }

    /** One generated Dockerfile, and the seed that made it. */
    public record Case(long seed, String text) {
        @Override
        public String toString() {
            return "seed " + seed + ": " + text.replace("\n", "\\n").replace("\r", "\\r").replace("\f", "\\f");
        }
    }

    public static List<Case> generate(long firstSeed, int count, String baseImage, int maxRuns) {
        List<Case> out = new ArrayList<>();
        for (long seed = firstSeed; seed < firstSeed + count; seed++) {
            out.add(new Case(seed, generate(new Random(new java.util.SplittableRandom(seed).nextLong()), baseImage, maxRuns)));
        }
        return out;
    }

    static String generate(Random r, String baseImage, int maxRuns) {
        char escape = r.nextInt(4) == 0 ? '`' : '\\';
        String nl = r.nextInt(4) == 0 ? "\r\n" : "\n";
        StringBuilder out = new StringBuilder();
        if (r.nextInt(6) == 0) {
            out.append('\uFEFF');
        }
        // Directives: known, unknown, odd spacing; some of them no directive at all for the daemon.
        List<String> directives = new ArrayList<>();
        if (r.nextInt(3) == 0) {
            directives.add("# syntax=docker/dockerfile:1");
        }
        if (r.nextInt(4) == 0) {
            directives.add(pick(r, "# check=skip=all", "# foo=bar", "#\u000Bescape=`", "# escape=", "# Syntax = x"));
        }
        if (escape == '`' || r.nextInt(3) == 0) {
            directives.add(pick(r, "# escape=" + escape, "  # escape=" + escape, "#escape = " + escape,
                    "# ESCAPE=" + escape + " "));
        }
        java.util.Collections.shuffle(directives, r);
        for (String d : directives) {
            out.append(d).append(nl);
        }
        if (r.nextInt(5) == 0) {
            out.append("# a comment").append(nl);
        }
        out.append(r.nextBoolean() ? "FROM " : "from ").append(baseImage).append(nl);
        int n = 2 + r.nextInt(8);
        int runs = 0;
        for (int k = 0; k < n; k++) {
            String instruction;
            if (runs < maxRuns && r.nextInt(6) == 0) {
                instruction = pick(r, RUNS);
                runs++;
            } else {
                instruction = pick(r, METADATA);
            }
            if (escape == '`') {
                instruction = instruction.replace('\\', '`');
            }
            if (r.nextInt(5) == 0) {
                int space = instruction.indexOf(' ');
                instruction = instruction.substring(0, space).toLowerCase(java.util.Locale.ROOT)
                        + instruction.substring(space);
            }
            out.append(mutate(r, instruction, escape, nl, baseImage)).append(nl);
        }
        if (r.nextInt(8) == 0) {
            out.append("\n"); // trailing blank line
        }
        return out.toString();
    }

    private static String mutate(Random r, String instruction, char escape, String nl, String baseImage) {
        switch (r.nextInt(22)) {
            case 0, 1, 2 -> {
                // A continuation at a space, maybe with trailing blanks, comments and blank lines between.
                // (not at an escaped space: joined with a tab that would split a value the daemon then refuses)
                int space = instruction.indexOf(' ', instruction.indexOf(' ') + 1);
                if (space < 0 || instruction.charAt(space - 1) == escape) {
                    space = instruction.indexOf(' ');
                }
                StringBuilder s = new StringBuilder(instruction.substring(0, space + 1)).append(escape);
                s.append(pick(r, "", " ", "\t", " \t "));
                s.append(nl);
                if (r.nextBoolean()) {
                    s.append(pick(r, "# between", "  # indented comment", "")).append(nl);
                }
                if (r.nextInt(3) == 0) {
                    s.append("   ").append(nl);
                }
                return s.append(pick(r, "", "  ", "\t")).append(instruction.substring(space + 1)).toString();
            }
            case 3 -> {
                // An escape then a form feed: no continuation for the daemon, the next line stands alone.
                return instruction + " " + escape + "\f" + nl + "LABEL ff=1";
            }
            case 4 -> {
                // A heredoc marker: quoted (no heredoc), glued (no heredoc), or real (heredoc for BuildKit).
                return pick(r, "RUN true \"<<EOF\"" + nl + "LABEL after=1", "COPY <<EOF /h.txt" + nl + "LABEL in=1"
                        + nl + "EOF", "RUN true<<EOF" + nl + "LABEL x=1", "ONBUILD COPY <<-'END' /o" + nl
                        + "\tLABEL t=1" + nl + "\tEND", "RUN [\"true\", \"<<EOF\"]");
            }
            case 5 -> {
                // A lone carriage return inside the line: no line end for the daemon.
                return "LABEL cr=\"a" + "\r" + "b\"";
            }
            case 6 -> {
                // Unicode whitespace around the instruction.
                return pick(r, "\u00A0", "\u0085", " \t", "\u2003") + instruction + pick(r, "", "\u00A0", " ");
            }
            case 7 -> {
                // An escaped escape at the end: no continuation.
                return "LABEL esc=a" + escape + escape;
            }
            case 8 -> {
                // A comment that looks like a directive, mid-file.
                return "# escape=" + (escape == '`' ? '\\' : '`') + nl + instruction;
            }
            case 9 -> {
                // Flags with quotes.
                return pick(r, "COPY --chown=\"1:1\" f1.txt /q.txt", "COPY --chown='1:1' -- f1.txt /r.txt",
                        "FROM --platform=\"linux/amd64\" " + baseImage);
            }
            default -> {
                return instruction;
            }
        }
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... options) {
        return options[r.nextInt(options.length)];
    }
}
