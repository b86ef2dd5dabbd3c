package io.buildgateway.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the {@code shellcheck} binary (Debian's package) once per Dockerfile over all its scripts
 * ({@link ShellScripts}): one temporary file per script, {@code --format=json1}, no rc file, no sourcing of other
 * files, a timeout and a bound on what is read back. The only process I/O of the policy module lives here; the
 * evaluator turns what it returns into findings ({@code shellcheck-SC<code>}), with severities and waivers like
 * any rule.
 */
public final class ShellCheck {

    /** Rule ids of ShellCheck findings: {@code shellcheck-SC2086}. */
    static final Pattern RULE_ID = Pattern.compile("shellcheck-SC[0-9]{4}");

    /** The rule of a ShellCheck pass that could not run (binary missing, timeout, unreadable output). */
    static final RuleInfo UNAVAILABLE = new RuleInfo("shellcheck", Finding.Severity.error, "shell",
            "ShellCheck could not check the RUN scripts",
            "The optional ShellCheck pass (Debian's shellcheck binary) checks every shell-form RUN and ONBUILD RUN,"
                    + " heredoc bodies included. It is off in the build gate unless the policy says"
                    + " `shellcheck: {enabled: true}`, and on for `POST /api/v1/lint?shellcheck=true` (`=false` turns"
                    + " it off there). Each ShellCheck comment is a finding with the rule id `shellcheck-SC<code>`"
                    + " (e.g. `shellcheck-SC2086`) at the Dockerfile line it is about (a continuation's own line, a"
                    + " heredoc body's line; the column is in the message); its default severity is ShellCheck's level"
                    + " (error, warning; info and style as info), and `rules:`/`teams:` set any SC id to"
                    + " error | warning | info | off and `waivers:` waive it, like any rule. The stage's SHELL decides"
                    + " the dialect (sh, bash, dash, ksh; other shells are not checked), a heredoc's own shebang or the"
                    + " shell it is fed to (`RUN bash <<EOF`) decides for its body, and the ARG and ENV names in scope"
                    + " count as assigned (no SC2154 for them). ShellCheck runs once per Dockerfile, without rc file"
                    + " and without following sourced files (SC1090, which needs a directive a Dockerfile cannot"
                    + " carry, and SC2187 are left out, as hadolint does), with a timeout (`gateway.policy.shellcheck.timeout`,"
                    + " 20 s) and bounded output. When the pass was asked for and cannot run (binary missing, timeout,"
                    + " unreadable output), this rule's finding fails the build closed, and lint answers 503.",
            List.of());

    private static final int MAX_OUTPUT = 4 * 1024 * 1024;
    private static final int MAX_COMMENTS = 500;
    /** Built on first use: the policy module's classes load with every policy, most of which never run ShellCheck. */
    private static final class Json {
        static final JsonMapper MAPPER = JsonMapper.builder().build();
    }

    /** One ShellCheck comment: the script it is about, its line there, level ("error", "style", …), SC code. */
    public record Comment(int script, int line, int column, String level, int code, String message) {
    }

    /** ShellCheck could not run or its answer could not be read. */
    public static final class Unavailable extends RuntimeException {
        Unavailable(String message) {
            super(message);
        }
    }

    private final String binary;
    private final Duration timeout;

    public ShellCheck(String binary, Duration timeout) {
        this.binary = binary;
        this.timeout = timeout;
    }

    /** The executable, resolved on PATH when given by name; null when there is none. */
    Path executable() {
        if (binary.contains("/")) {
            Path p = Path.of(binary);
            return Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "/usr/bin:/bin" : path).split(":")) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, binary);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /**
     * ShellCheck processes at once in this replica: each lint asking for the pass starts one, and nothing else bounded
     * how many a caller could have running (a review's finding, 2026-12-06). A request that waits longer than the
     * process's own timeout for its turn is refused whole, 503 {@code shellcheck-unavailable} with Retry-After and
     * nothing recorded: not {@link Unavailable}, which a submission under a policy that asks for ShellCheck turns into
     * a finding, and so a rejection in the team's history for a moment of load.
     */
    static final java.util.concurrent.Semaphore RUNNING = new java.util.concurrent.Semaphore(
            Math.max(2, Runtime.getRuntime().availableProcessors()), true);

    /** Checks the scripts; comments sorted by script, then line. Throws {@link Unavailable}. */
    List<Comment> check(List<ShellScripts.Script> scripts) {
        if (scripts.isEmpty()) {
            return List.of();
        }
        Path exe = executable();
        if (exe == null) {
            throw new Unavailable("the shellcheck binary ('" + binary + "') is not installed");
        }
        try {
            if (!RUNNING.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw busy();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw busy();
        }
        try {
            return run(exe, scripts);
        } finally {
            RUNNING.release();
        }
    }

    private static io.buildgateway.shared.Problem busy() {
        return refusal("every ShellCheck process of this replica is busy; nothing of this request was recorded; retry"
                + " after the time in Retry-After").with("retryAfterSeconds", 5);
    }

    /** The 503 {@code shellcheck-unavailable} of a request that asked for a pass that cannot run, or not now. */
    public static io.buildgateway.shared.Problem refusal(String detail) {
        return new io.buildgateway.shared.Problem(503, "shellcheck-unavailable", "ShellCheck unavailable", detail)
                .auditedAsRefusal();
    }

    private List<Comment> run(Path exe, List<ShellScripts.Script> scripts) {
        Path dir = null;
        Process process = null;
        try {
            dir = Files.createTempDirectory("bgw-shellcheck");
            List<String> command = new ArrayList<>(List.of(exe.toString(), "--format=json1", "--norc",
                    "--color=never", "--exclude=SC1090,SC2187"));
            for (int s = 0; s < scripts.size(); s++) {
                Path file = dir.resolve(s + ".sh");
                Files.writeString(file, scripts.get(s).text(), StandardCharsets.UTF_8);
                command.add(file.getFileName().toString());
            }
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).redirectInput(ProcessBuilder.Redirect.PIPE);
            pb.environment().clear();
            pb.environment().put("LC_ALL", "C.UTF-8");
            process = pb.start();
            process.getOutputStream().close();
            InputStream stdout = process.getInputStream();
            CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
                try {
                    return stdout.readNBytes(MAX_OUTPUT + 1);
                } catch (IOException e) {
                    return null;
                }
            }, r -> {
                Thread t = new Thread(r, "shellcheck-output");
                t.setDaemon(true);
                t.start();
            });
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new Unavailable("shellcheck did not finish within " + timeout.toSeconds() + " s");
            }
            byte[] out = read.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            int rc = process.exitValue();
            if (out == null || out.length > MAX_OUTPUT) {
                throw new Unavailable("shellcheck's output is unreadable or larger than " + MAX_OUTPUT + " bytes");
            }
            if (rc != 0 && rc != 1) {
                throw new Unavailable("shellcheck failed (exit code " + rc + ")");
            }
            return parse(out, scripts.size());
        } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new Unavailable("shellcheck could not run: " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted while waiting for shellcheck");
        } finally {
            if (process != null && process.isAlive()) {
                process.destroyForcibly();
            }
            if (dir != null) {
                deleteQuietly(dir);
            }
        }
    }

    private static List<Comment> parse(byte[] out, int scripts) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(out);
        } catch (RuntimeException e) {
            throw new Unavailable("shellcheck's output is not the JSON expected");
        }
        JsonNode comments = root.get("comments");
        if (comments == null || !comments.isArray()) {
            throw new Unavailable("shellcheck's output is not the JSON expected");
        }
        List<Comment> list = new ArrayList<>();
        for (JsonNode c : comments) {
            String file = c.path("file").asString("");
            int dot = file.indexOf('.');
            int script;
            try {
                script = Integer.parseInt(dot < 0 ? file : file.substring(0, dot));
            } catch (NumberFormatException e) {
                continue;
            }
            if (script < 0 || script >= scripts) {
                continue;
            }
            list.add(new Comment(script, c.path("line").asInt(0), c.path("column").asInt(0),
                    c.path("level").asString("warning"), c.path("code").asInt(0), c.path("message").asString("")));
            if (list.size() >= MAX_COMMENTS) {
                break;
            }
        }
        list.sort(Comparator.comparingInt(Comment::script).thenComparingInt(Comment::line)
                .thenComparingInt(Comment::column));
        return list;
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temporary folder left behind holds only the scripts of this Dockerfile
        }
    }

    /** Our default severity of a ShellCheck level. */
    static Finding.Severity severity(String level) {
        return switch (level) {
            case "error" -> Finding.Severity.error;
            case "warning" -> Finding.Severity.warning;
            default -> Finding.Severity.info;
        };
    }
}
