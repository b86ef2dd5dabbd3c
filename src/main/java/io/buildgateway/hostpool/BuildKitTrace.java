package io.buildgateway.hostpool;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import io.buildgateway.hostpool.buildkit.proto.Control.StatusResponse;
import io.buildgateway.hostpool.buildkit.proto.Control.Vertex;
import io.buildgateway.hostpool.buildkit.proto.Control.VertexLog;
import io.buildgateway.hostpool.buildkit.proto.Control.VertexStatus;
import io.buildgateway.hostpool.buildkit.proto.Control.VertexWarning;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads BuildKit's build trace: the {@code moby.buildkit.trace} messages of {@code POST /build?version=2}, each a
 * base64 protobuf {@code StatusResponse} of BuildKit's control API (decoded with classes generated from BuildKit's own
 * definitions, src/main/proto). Writes it as the CLI's {@code --progress=plain} shows it: a step's first appearance as
 * {@code #N [2/3] RUN …}, then {@code #N CACHED}, its output lines as {@code #N <line>}, {@code #N DONE 0.3s} or
 * {@code #N ERROR: …}. Everything it writes is the daemon's and the steps' text, for the build log's step source.
 *
 * <p>It also keeps what the confinement check needs: every image BuildKit resolved and used ({@code FROM ref@digest}
 * vertices), remote sources it fetched itself (an {@code ADD} of a URL), the step whose error ended the build, and the
 * Dockerfile steps in the order they started ({@code [stage i/N] INSTRUCTION …}). Not thread-safe: one build's
 * stream is read by one thread.
 */
final class BuildKitTrace {

    /**
     * A Dockerfile step's vertex name: {@code [2/3] RUN …} or {@code [build 2/3] RUN …}; BuildKit pads i to the width
     * of N ({@code [ 2/10] ADD …}, {@code [build  2/10] …}), which BuildKitOracleIT found.
     */
    static final Pattern STEP = Pattern.compile("\\[(?:(\\S+) +)? *(\\d+)/(\\d+)\\] (.*)", Pattern.DOTALL);
    private static final Pattern FROM = Pattern.compile(
            "(?:\\[[^\\]]*\\] )?FROM (\\S+?)(?:@(sha256:[0-9a-f]{64}))?(?:\\s.*)?", Pattern.DOTALL);
    /**
     * The frontend reading an image's config by its name ({@code [internal] load metadata for ref}, with the
     * platform before {@code internal} when several are asked for): the image whose ONBUILD triggers, Env and USER
     * the Dockerfile's stage takes.
     */
    private static final Pattern METADATA = Pattern.compile("\\[(?:\\S+ )?internal\\] load metadata for (\\S+)");
    /** A log line longer than this is cut (a step can print anything). */
    private static final int MAX_LINE = 16 * 1024;

    /** One Dockerfile step as BuildKit named it: the stage (null for an unnamed one), i, N, and the instruction. */
    record Step(String stage, int index, int total, String instruction) {
    }

    private final Consumer<String> out;
    private final Map<String, State> vertices = new HashMap<>();
    private final Map<String, StringBuilder> partial = new HashMap<>();
    private final List<String> used = new ArrayList<>();
    /** The steps ("stage i/N") each used reference's FROM vertices were named for. */
    private final Map<String, java.util.Set<String>> usedAt = new HashMap<>();
    private final List<String> fetched = new ArrayList<>();
    /** The references whose config the frontend read ({@link #METADATA}). */
    private final java.util.Set<String> resolved = new java.util.LinkedHashSet<>();
    private final Map<String, Step> steps = new LinkedHashMap<>();
    private int next = 1;
    private String failedStep;
    private String error;

    private static final class State {
        int number;
        String name;
        boolean headed;
        boolean cached;
        boolean done;
        final Map<String, Boolean> statusDone = new HashMap<>();

        State() {
        }
    }

    BuildKitTrace(Consumer<String> out) {
        this.out = out;
    }

    /** One {@code moby.buildkit.trace} message's {@code aux}: base64 of a {@code StatusResponse}. */
    void accept(String base64) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            out.accept("(an unreadable BuildKit trace message: not base64)\n");
            return;
        }
        try {
            accept(StatusResponse.parseFrom(bytes));
        } catch (InvalidProtocolBufferException e) {
            out.accept("(an unreadable BuildKit trace message: " + e.getMessage() + ")\n");
        }
    }

    void accept(StatusResponse status) {
        for (Vertex v : status.getVertexesList()) {
            vertex(v);
        }
        for (VertexStatus s : status.getStatusesList()) {
            progress(s);
        }
        for (VertexLog l : status.getLogsList()) {
            log(l);
        }
        for (VertexWarning w : status.getWarningsList()) {
            State st = state(w.getVertex(), null);
            head(st);
            out.accept("#" + st.number + " WARN: " + oneLine(w.getShort().toStringUtf8()) + "\n");
        }
    }

    private State state(String digest, String name) {
        State st = vertices.computeIfAbsent(digest, d -> new State());
        if (name != null && !name.isEmpty()) {
            st.name = name;
        }
        return st;
    }

    private void head(State st) {
        if (!st.headed) {
            st.headed = true;
            st.number = next++;
            out.accept("\n#" + st.number + " " + oneLine(st.name == null ? "(unnamed step)" : st.name) + "\n");
        }
    }

    private void vertex(Vertex v) {
        if (!v.hasStarted() && !v.getCached() && v.getError().isEmpty()) {
            // Announced but not started: BuildKit sends every vertex of the graph first; the CLI shows it once it runs.
            state(v.getDigest(), v.getName());
            return;
        }
        State st = state(v.getDigest(), v.getName());
        head(st);
        note(v);
        if (v.getCached() && !st.cached) {
            st.cached = true;
            out.accept("#" + st.number + " CACHED\n");
        }
        if (!v.getError().isEmpty()) {
            flush(v.getDigest(), st);
            if (!st.done) {
                st.done = true;
                out.accept("#" + st.number + " ERROR: " + v.getError() + "\n");
            }
            if (failedStep == null && !v.getError().contains("context canceled")) {
                failedStep = instruction(v.getName());
                error = v.getError();
            }
        } else if (v.hasCompleted() && !st.done) {
            st.done = true;
            flush(v.getDigest(), st);
            if (!v.getCached()) {
                out.accept("#" + st.number + " DONE " + seconds(v.getStarted(), v.getCompleted()) + "\n");
            }
        }
    }

    /** What the confinement check and the step list need from a vertex that ran (or came from the cache). */
    private void note(Vertex v) {
        String name = v.getName();
        Matcher from = FROM.matcher(name);
        if (from.matches()) {
            String reference = from.group(2) == null ? from.group(1) : from.group(1) + "@" + from.group(2);
            if (!used.contains(reference)) {
                used.add(reference);
            }
            Matcher at = STEP.matcher(name);
            if (at.matches()) {
                usedAt.computeIfAbsent(reference, r -> new java.util.TreeSet<>()).add(
                        (at.group(1) == null ? "" : at.group(1) + " ") + Integer.parseInt(at.group(2)) + "/"
                                + Integer.parseInt(at.group(3)));
            }
        }
        Matcher metadata = METADATA.matcher(name);
        if (metadata.matches()) {
            resolved.add(metadata.group(1));
        }
        String instruction = instruction(name);
        if (instruction.regionMatches(true, 0, "ADD ", 0, 4) && instruction.contains("://")
                && !fetched.contains(instruction)) {
            fetched.add(instruction);
        }
        Matcher step = STEP.matcher(name);
        if (step.matches() && !steps.containsKey(name)) {
            steps.put(name, new Step(step.group(1), Integer.parseInt(step.group(2)), Integer.parseInt(step.group(3)),
                    step.group(4)));
        }
    }

    private void progress(VertexStatus s) {
        State st = state(s.getVertex(), null);
        String id = s.getName().isEmpty() ? s.getID() : s.getName();
        if (s.hasCompleted() && !Boolean.TRUE.equals(st.statusDone.get(s.getID()))) {
            st.statusDone.put(s.getID(), true);
            head(st);
            String amount = s.getTotal() > 0 ? " " + s.getCurrent() + "/" + s.getTotal()
                    : s.getCurrent() > 0 ? " " + s.getCurrent() + "B" : "";
            out.accept("#" + st.number + " " + oneLine(id) + amount + " done\n");
        }
    }

    private void log(VertexLog l) {
        State st = state(l.getVertex(), null);
        head(st);
        StringBuilder buffer = partial.computeIfAbsent(l.getVertex(), d -> new StringBuilder());
        buffer.append(l.getMsg().toString(StandardCharsets.UTF_8));
        // A lone \r ends a line too, as in the build log (BuildLogs): a step's "x\rSucceeded: …" is two step lines,
        // each after its "#N ", never one glued line. A \r at the end of a message waits for the next (\r\n).
        int end;
        while ((end = lineEnd(buffer)) >= 0) {
            line(st, buffer.substring(0, end));
            boolean crlf = buffer.charAt(end) == '\r' && buffer.charAt(end + 1) == '\n';
            buffer.delete(0, end + (crlf ? 2 : 1));
        }
        if (buffer.length() > MAX_LINE) {
            line(st, buffer.toString());
            buffer.setLength(0);
        }
    }

    /** Where the first line of the buffer ends ({@code \n} or {@code \r}), or -1 (also for a {@code \r} last). */
    private static int lineEnd(StringBuilder buffer) {
        for (int i = 0; i < buffer.length(); i++) {
            char c = buffer.charAt(i);
            if (c == '\n' || (c == '\r' && i + 1 < buffer.length())) {
                return i;
            }
            if (c == '\r') {
                return -1;
            }
        }
        return -1;
    }

    private void flush(String digest, State st) {
        StringBuilder buffer = partial.remove(digest);
        if (buffer != null && buffer.length() > 0) {
            line(st, buffer.toString());
        }
    }

    private void line(State st, String text) {
        String cut = text.length() > MAX_LINE ? text.substring(0, MAX_LINE) + "…" : text;
        out.accept("#" + st.number + " " + cut.replace("\r", "") + "\n");
    }

    /** Ends the trace: writes what is left of partial lines. */
    void finish() {
        for (Map.Entry<String, StringBuilder> e : new ArrayList<>(partial.entrySet())) {
            flush(e.getKey(), vertices.get(e.getKey()));
        }
    }

    /** A vertex's name without its {@code [stage i/N] } prefix. */
    static String instruction(String name) {
        Matcher step = STEP.matcher(name);
        return step.matches() ? step.group(4) : name;
    }

    private static String seconds(Timestamp started, Timestamp completed) {
        long nanos = (completed.getSeconds() - started.getSeconds()) * 1_000_000_000L
                + (completed.getNanos() - started.getNanos());
        return String.format(Locale.ROOT, "%.1fs", Math.max(0, nanos) / 1e9);
    }

    private static String oneLine(String text) {
        return text.replace("\r", " ").replace("\n", " ");
    }

    /**
     * Every image a {@code FROM} (or {@code COPY --from}) vertex used, as BuildKit named it ({@code ref} or
     * {@code ref@sha256:…}).
     */
    List<String> used() {
        return List.copyOf(used);
    }

    /** The steps ({@code "i/N"}, {@code "stage i/N"}) whose FROM vertex named {@code reference}; empty if none. */
    java.util.Set<String> stepsOf(String reference) {
        return usedAt.getOrDefault(reference, java.util.Set.of());
    }

    /**
     * The references whose config the frontend read ({@code [internal] load metadata for …}) as BuildKit named them:
     * a FROM vertex of another name took no config from the build's point of view (see BuildKitBuilder#used).
     */
    java.util.Set<String> resolved() {
        return java.util.Collections.unmodifiableSet(resolved);
    }

    /** The steps (instructions as BuildKit named them) in which BuildKit fetched a remote source itself. */
    List<String> fetched() {
        return List.copyOf(fetched);
    }

    /** The step whose error ended the build (its instruction), or null. */
    String failedStep() {
        return failedStep;
    }

    /** The error of that step, or null. */
    String error() {
        return error;
    }

    /** The Dockerfile steps that ran or came from the cache, in the order BuildKit started them. */
    List<Step> steps() {
        return List.copyOf(steps.values());
    }
}
