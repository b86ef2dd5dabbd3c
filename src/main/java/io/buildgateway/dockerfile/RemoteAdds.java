package io.buildgateway.dockerfile;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code ADD <url>} instructions of a canonical Dockerfile (one instruction per line, as
 * {@link CanonicalDockerfile} writes it), and its rewrite into {@code COPY}s of files the gateway fetched for the
 * build (docs/egress.md, "ADD <url>"). The rewrite keeps ADD's meaning for a remote source as BuildKit's Dockerfile
 * frontend builds it: the file is named by the last segment of the URL's path ({@code __unnamed__} when there is
 * none) and copied to the destination with ADD's own copy rules, so a destination ending in {@code /} receives it
 * under that name; {@code --chown}, {@code --chmod} and {@code --link} are kept; {@code --checksum} is checked by the
 * gateway on the fetched body (a COPY has no such flag); mode 0600 without {@code --chmod} comes from the fetched
 * file's mode in the context, so the classic builder (which has no COPY {@code --chmod}) gives it too. Whatever
 * cannot be rewritten with the same meaning is a problem, and the build fails with it rather than build something
 * else: a URL with a variable in it, a git, ftp or ssh source, a URL beside local sources, another flag. An
 * {@code ONBUILD ADD <url>} of a stage that a later stage of the same file builds FROM fires in this build and is
 * rewritten the same way, into an {@code ONBUILD COPY} (which copies from this build's context when it fires).
 */
public final class RemoteAdds {

    private RemoteAdds() {
    }

    /**
     * One {@code ADD} with URL sources: its line in the canonical text, the URLs, the expected
     * {@code --checksum} (or null), the file names they get, and the problem that keeps it from being rewritten
     * (or null).
     */
    public record Add(int line, List<String> urls, String checksum, List<String> names, String problem) {
        public Add {
            urls = List.copyOf(urls);
            names = List.copyOf(names);
        }
    }

    private static final Set<String> KEPT_FLAGS = Set.of("chown", "chmod", "link");
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._+~@=,-]+");
    private static final Pattern CHECKSUM = Pattern.compile("sha256:[0-9a-f]{64}");

    /**
     * The ADDs of this canonical text that have a remote source, without ONBUILD triggers (as {@link #find(String,
     * Map, String)} with no build args and the last stage as target).
     */
    public static List<Add> find(String canonical) {
        return find(canonical, Map.of(), null, false);
    }

    /**
     * The ADDs of this canonical text that have a remote source, and the {@code ONBUILD ADD}s with one that fire in
     * this build: the triggers of a stage that a later stage builds {@code FROM} (BuildKit runs them at the start of
     * that stage, with this build's context), unless that stage is the target, whose triggers go into the pushed
     * image's config as written and never fire here. A trigger's {@link Add#line()} is its ONBUILD line. The ONBUILD
     * ADDs of a stage nothing builds FROM, and of the target, are left alone: they do not run in this build.
     */
    public static List<Add> find(String canonical, Map<String, String> buildArgs, String target) {
        return find(canonical, buildArgs, target, true);
    }

    private static List<Add> find(String canonical, Map<String, String> buildArgs, String target,
            boolean triggers) {
        Dockerfile parsed = DockerfileParser.parse(canonical);
        Set<Integer> firing = triggers ? firingOnbuildLines(parsed, buildArgs, target) : Set.of();
        List<Add> out = new ArrayList<>();
        for (Instruction i : parsed.instructions()) {
            Instruction add = i;
            if (i.keyword().equals("ONBUILD")) {
                if (!firing.contains(i.line()) || (add = trigger(i)) == null) {
                    continue;
                }
            }
            if (!add.keyword().equals("ADD") || !add.heredocs().isEmpty()) {
                continue;
            }
            List<String> words = words(add);
            List<String> sources = words.size() <= 1 ? List.of() : words.subList(0, words.size() - 1);
            if (sources.stream().noneMatch(RemoteAdds::isRemote)) {
                continue;
            }
            Add judged = judge(add, sources);
            out.add(new Add(i.line(), judged.urls(), judged.checksum(), judged.names(), judged.problem() == null
                    || add == i ? judged.problem() : "ONBUILD " + judged.problem()));
        }
        return out;
    }

    /** The lines of the ONBUILD instructions of every stage that a later stage builds FROM and that is not the target. */
    private static Set<Integer> firingOnbuildLines(Dockerfile parsed, Map<String, String> buildArgs, String target) {
        // The gateway fetches ADD URLs only for BuildKit hosts (the egress path is theirs): BuildKit's platform
        // arguments are defined.
        BuildStages.Plan plan = BuildStages.plan(parsed, buildArgs == null ? Map.of() : buildArgs, target, true);
        if (plan == null) {
            return Set.of();
        }
        Set<Integer> parents = new java.util.HashSet<>();
        for (BuildStages.Stage s : plan.stages()) {
            if (s.parentStage() >= 0 && s.parentStage() != plan.target()) {
                parents.add(s.parentStage());
            }
        }
        Set<Integer> lines = new java.util.HashSet<>();
        for (int p : parents) {
            for (Instruction i : plan.stages().get(p).instructions()) {
                if (i.keyword().equals("ONBUILD")) {
                    lines.add(i.line());
                }
            }
        }
        return lines;
    }

    /**
     * The instruction an ONBUILD trigger becomes, parsed as the daemon parses it (anew, with the default escape), or
     * null when it is not one instruction.
     */
    private static Instruction trigger(Instruction onbuild) {
        Dockerfile t = DockerfileParser.parse(onbuild.arguments());
        return t.errors().isEmpty() && t.instructions().size() == 1 ? t.instructions().get(0) : null;
    }

    private static Add judge(Instruction i, List<String> sources) {
        List<String> names = new ArrayList<>();
        String checksum = i.flag("checksum").orElse(null);
        String problem = null;
        for (Instruction.Flag f : i.flags()) {
            if (!KEPT_FLAGS.contains(f.name()) && !f.name().equals("checksum")) {
                problem = "ADD --" + f.name() + " with a URL is not supported when the gateway fetches the URL";
            }
        }
        for (String s : sources) {
            String lower = s.toLowerCase(Locale.ROOT);
            if (!lower.startsWith("http://") && !lower.startsWith("https://")) {
                problem = isRemote(s) ? "ADD " + s + ": only http and https URLs are fetched (through the egress proxy)"
                        : "ADD mixes a URL with the local source " + s + "; write them as separate instructions";
            } else if (s.contains("$")) {
                problem = "ADD " + s + ": a URL with a variable is not fetched; write the URL out";
            } else {
                String name = name(s);
                if (name == null) {
                    problem = "ADD " + s + ": not a URL the gateway can fetch";
                } else if (!SAFE_NAME.matcher(name).matches()) {
                    problem = "ADD " + s + ": the file name '" + name + "' has characters a COPY source would"
                            + " read as a pattern or variable";
                }
                names.add(name);
            }
        }
        if (checksum != null && problem == null) {
            if (sources.size() != 1) {
                problem = "ADD --checksum needs exactly one URL source";
            } else if (!CHECKSUM.matcher(checksum).matches()) {
                problem = "ADD --checksum=" + checksum + ": only sha256:<64 lower-case hex digits> is checked";
            }
        }
        return new Add(i.line(), sources, checksum, problem == null ? names : List.of(), problem);
    }

    /**
     * The name BuildKit's Dockerfile frontend gives a remote source: the last segment of the URL's path, decoded as Go's
     * {@code url.Parse} decodes it (null for a malformed escape).
     */
    static String name(String url) {
        int scheme = url.indexOf("://");
        int from = scheme < 0 ? 0 : scheme + 3;
        int end = url.length();
        for (int k = from; k < url.length(); k++) {
            if (url.charAt(k) == '?' || url.charAt(k) == '#') {
                end = k;
                break;
            }
        }
        int slash = url.indexOf('/', from);
        String path = slash < 0 || slash >= end ? "" : url.substring(slash, end);
        while (path.length() > 1 && path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        String base = path.substring(path.lastIndexOf('/') + 1);
        if (base.isEmpty() || base.equals(".")) {
            return "__unnamed__";
        }
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int k = 0; k < base.length(); k++) {
            char c = base.charAt(k);
            if (c == '%') {
                if (k + 2 >= base.length() || Character.digit(base.charAt(k + 1), 16) < 0
                        || Character.digit(base.charAt(k + 2), 16) < 0) {
                    return null;
                }
                out.write(Integer.parseInt(base.substring(k + 1, k + 3), 16));
                k += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The canonical text with each ADD at a line of {@code sources} replaced by a COPY of those context paths (one
     * per URL, in order), destination and kept flags as they were. Every ADD must be one {@link #find} returned
     * without a problem.
     */
    public static String rewrite(String canonical, Map<Integer, List<String>> sources) {
        Dockerfile parsed = DockerfileParser.parse(canonical);
        String[] lines = canonical.split("\n", -1);
        int done = 0;
        for (Instruction i : parsed.instructions()) {
            List<String> paths = sources.get(i.line());
            if (paths == null) {
                continue;
            }
            boolean onbuild = i.keyword().equals("ONBUILD");
            Instruction add = onbuild ? trigger(i) : i;
            if (add == null || !add.keyword().equals("ADD")
                    || !lines[i.line() - 1].trim().equals(i.original())) {
                throw new IllegalArgumentException("line " + i.line() + " is not an ADD instruction of its own");
            }
            List<String> words = words(add);
            if (words.size() - 1 != paths.size()) {
                throw new IllegalArgumentException("line " + i.line() + " has " + (words.size() - 1)
                        + " sources, not " + paths.size());
            }
            List<Instruction.Flag> kept = add.flags().stream().filter(f -> KEPT_FLAGS.contains(f.name())).toList();
            String dest = words.get(words.size() - 1);
            StringBuilder line = new StringBuilder(onbuild ? "ONBUILD COPY " : "COPY ")
                    .append(CanonicalDockerfile.flagText(kept));
            if (add.isJsonForm()) {
                line.append('[');
                paths.forEach(p -> line.append(quote(p)).append(", "));
                line.append(quote(dest)).append(']');
            } else {
                paths.forEach(p -> line.append(p).append(' '));
                line.append(dest);
            }
            lines[i.line() - 1] = line.toString();
            done++;
        }
        if (done != sources.size()) {
            throw new IllegalArgumentException("not every line to rewrite is an ADD");
        }
        return String.join("\n", lines);
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    private static List<String> words(Instruction i) {
        return i.isJsonForm() ? i.json() : Instruction.daemonFields(i.arguments());
    }

    /**
     * Whether BuildKit's ADD fetches the source instead of copying it from the context: a URL (http, https, ftp, git,
     * ssh), or what its git reference parser takes for a repository without a scheme (a review's finding,
     * 2026-12-07): {@code github.com/…}, an scp-like {@code user@host:path}, and {@code host/…/repo.git} (read as
     * {@code https://host/…/repo.git}, its {@code #ref} aside).
     */
    public static boolean isRemote(String w) {
        String l = w.toLowerCase(Locale.ROOT);
        if (l.startsWith("http://") || l.startsWith("https://") || l.startsWith("git@") || l.startsWith("ftp://")
                || l.startsWith("git://") || l.startsWith("ssh://") || l.startsWith("github.com/")) {
            return true;
        }
        if (l.startsWith("./") || l.startsWith("../") || l.startsWith("/") || l.contains("://")) {
            return false;
        }
        if (SCP_LIKE.matcher(w).lookingAt()) {
            return true;
        }
        int hash = l.indexOf('#');
        String ref = hash < 0 ? l : l.substring(0, hash);
        int slash = ref.indexOf('/');
        return slash > 0 && ref.endsWith(".git");
    }

    /** {@code user@host:path}, as git and BuildKit's sshutil read an implicit SSH transport. */
    private static final java.util.regex.Pattern SCP_LIKE = java.util.regex.Pattern.compile(
            "[A-Za-z0-9_-]+@[A-Za-z0-9_.-]+:");
}
