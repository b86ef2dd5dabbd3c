package io.buildgateway.scanning.compliance;

import io.buildgateway.scanning.compliance.ComplianceResult.Arf;
import io.buildgateway.scanning.compliance.ComplianceResult.Status;
import io.buildgateway.shared.ProcFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs OpenSCAP on an image's root filesystem: {@code oscap xccdf eval} once per content file of the content folder
 * (every {@code *-xccdf.xml} and {@code *-ds.xml}, in name order), with {@code OSCAP_PROBE_ROOT} set to the root
 * filesystem as {@code oscap-chroot} does, then reads each XCCDF results file and keeps each ARF report.
 *
 * <p>The profile, when configured, is passed to every content file that declares it (exactly, or as the suffix
 * {@code _<profile>} of a Profile id, as oscap matches it); a file that does not declare it is evaluated with its own
 * default rule selection, so that the gateway's baseline and an SSG data stream can sit side by side. A profile that
 * no file declares is a configuration error.
 *
 * <p>Each oscap run may take the time its {@link RunLimit} gives the size of the root filesystem (a floor, plus so
 * much per GiB of regular files, at most a ceiling), and never past the caller's limit (the build's deadline). A run
 * still going at its limit is killed with every process it started; a run killed at its own limit (not at the
 * caller's) is run once more, when the caller's limit leaves time, and only a second timeout makes that content file
 * an {@code ERROR} (an oscap that once hung for minutes under load, issue #13's full test run). Both are logged with
 * the image and the time taken, and told to the caller's notes (the build log). (The first call also checks
 * {@link #available()}, which allows {@code oscap --version} 30 seconds of its own.) Thread-safe; evaluations may run
 * concurrently.
 *
 * <p>oscap validates its content against the SCAP schemas before it evaluates (most of a small scan's time). It does
 * so on a content file's first run here; once a run of it got through (exit 0 or 2 with a results file that has a
 * TestResult, neither killed nor interrupted), later runs of the same content file with the same
 * {@link #configurationDigest()} (oscap's version, the profile, the name and bytes of every file of the content
 * folder, OVAL files included) pass {@code --skip-valid}: oscap in this JVM has validated exactly those bytes. A run
 * oscap refused (invalid content), a killed, timed-out or interrupted run, or a run during which the folder's
 * digest changed, validates nothing; a run that skipped validation while the folder changed is run again with it.
 */
public final class OpenScap {

    private static final int OUTPUT_LIMIT = 64 * 1024;
    private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(30);
    private static final int MESSAGE_LIMIT = 600;
    private static final long GIB = 1024L * 1024 * 1024;
    private static final Logger log = LoggerFactory.getLogger(OpenScap.class);
    /** setsid(1) and kill(1), to run oscap in a process group of its own and kill the group; null when missing. */
    private static final String SETSID = ProcFiles.firstExecutable("/usr/bin/setsid", "/bin/setsid");
    private static final String KILL = ProcFiles.firstExecutable("/usr/bin/kill", "/bin/kill");

    private final String command;
    private final Path contentDir;
    private final String profile;
    private final RunLimit runLimit;
    /** The CPU priority of evaluation runs (issue #17: below the API's); the version check runs as it is. */
    private volatile io.buildgateway.shared.BackgroundPriority priority =
            io.buildgateway.shared.BackgroundPriority.off();
    /**
     * How long a first run may use no CPU time at all before it counts as hung ({@link #stallingAfter}); zero: never.
     */
    private volatile Duration stallLimit = DEFAULT_STALL_LIMIT;
    /**
     * oscap 1.3.7 (Debian 12) now and then stops in the middle of a run and uses no CPU time until it is killed
     * (0 to 7 builds in 26 of {@code bench/build-vs-direct.sh}); run again at once, it ends in a fraction of a second.
     */
    static final Duration DEFAULT_STALL_LIMIT = Duration.ofSeconds(8);

    private final Object availability = new Object();
    private Boolean available; // guarded by availability
    private String unavailableReason = "not checked yet"; // guarded by availability
    private String version = ""; // guarded by availability

    private final Map<Path, DeclaredProfiles> profileCache = new ConcurrentHashMap<>();

    /**
     * The content files oscap has validated in this JVM: {@code <configurationDigest> <file name>}. At most
     * {@link #VALIDATED_LIMIT} keys (the digest changes only when oscap or the content does); emptied when full.
     */
    private final java.util.Set<String> validated = ConcurrentHashMap.newKeySet();
    static final int VALIDATED_LIMIT = 256;

    private record DeclaredProfiles(long size, FileTime modified, List<String> ids) {
    }

    /** One content file's evaluation. */
    record Run(String content, Status status, List<RuleResult> rules, byte[] arf, String message) {

        static Run error(String content, String message) {
            return new Run(content, Status.ERROR, List.of(), null, message);
        }
    }

    /** How an oscap process ended, with its merged output (bounded), and how many processes were killed. */
    record Exec(int exitCode, boolean timedOut, boolean interrupted, String output, int killed, Duration stalled) {
    }

    /**
     * The time one oscap run may take: {@code floor} plus {@code perGiB} for each GiB of regular files in the root
     * filesystem it evaluates, at most {@code ceiling}.
     */
    public record RunLimit(Duration floor, Duration perGiB, Duration ceiling) {

        public RunLimit {
            Objects.requireNonNull(floor, "floor");
            Objects.requireNonNull(perGiB, "perGiB");
            Objects.requireNonNull(ceiling, "ceiling");
            if (floor.isNegative() || floor.isZero()) {
                throw new IllegalArgumentException("the oscap run's floor must be positive: " + floor);
            }
            if (perGiB.isNegative()) {
                throw new IllegalArgumentException("the oscap run's time per GiB must not be negative: " + perGiB);
            }
            if (ceiling.compareTo(floor) < 0) {
                throw new IllegalArgumentException("the oscap run's ceiling " + ceiling + " is below its floor "
                        + floor);
            }
        }

        /** The same limit whatever the size. */
        public static RunLimit fixed(Duration timeout) {
            return new RunLimit(timeout, Duration.ZERO, timeout);
        }

        /** The limit for a root filesystem of {@code bytes} (negative: unknown, the ceiling). */
        public Duration forBytes(long bytes) {
            if (bytes < 0) {
                return ceiling;
            }
            // perGiB x bytes / GiB in nanoseconds, without overflow for any size a scan admits
            java.math.BigInteger scaled = java.math.BigInteger.valueOf(perGiB.toNanos())
                    .multiply(java.math.BigInteger.valueOf(bytes)).divide(java.math.BigInteger.valueOf(GIB));
            long limit = scaled.bitLength() < 63 ? scaled.longValue() : Long.MAX_VALUE;
            Duration d = floor.plusNanos(Math.min(limit, ceiling.toNanos()));
            return d.compareTo(ceiling) > 0 ? ceiling : d;
        }
    }

    /**
     * @param oscapCommand  the oscap executable, a name looked up on the PATH ({@code oscap}) or a path
     * @param contentDir    the folder of content files ({@code config/compliance})
     * @param profileOrNull the XCCDF profile id (or oscap suffix of one), or null for each file's default selection
     * @param timeout       the longest one oscap run may take, whatever the size of the root filesystem
     */
    public OpenScap(String oscapCommand, Path contentDir, String profileOrNull, Duration timeout) {
        this(oscapCommand, contentDir, profileOrNull, RunLimit.fixed(Objects.requireNonNull(timeout, "timeout")));
    }

    /**
     * @param oscapCommand  the oscap executable, a name looked up on the PATH ({@code oscap}) or a path
     * @param contentDir    the folder of content files ({@code config/compliance})
     * @param profileOrNull the XCCDF profile id (or oscap suffix of one), or null for each file's default selection
     * @param runLimit      the longest one oscap run may take, by the size of the root filesystem
     */
    public OpenScap(String oscapCommand, Path contentDir, String profileOrNull, RunLimit runLimit) {
        this.command = Objects.requireNonNull(oscapCommand, "oscapCommand");
        this.contentDir = Objects.requireNonNull(contentDir, "contentDir");
        this.runLimit = Objects.requireNonNull(runLimit, "runLimit");
        if (oscapCommand.isBlank()) {
            throw new IllegalArgumentException("the oscap command is blank");
        }
        this.profile = profileOrNull == null || profileOrNull.isBlank() ? null : profileOrNull.strip();
    }

    /** Runs evaluations at this CPU priority (nice, and the session's autogroup); returns this. */
    public OpenScap runningAt(io.buildgateway.shared.BackgroundPriority priority) {
        this.priority = Objects.requireNonNull(priority, "priority");
        return this;
    }

    /**
     * A first run of a content file whose processes use no CPU time for {@code limit} is killed as hung and run once
     * more, as one killed at its run limit is, instead of waiting out that limit (30 s or more). The second run is
     * given the whole run limit and is never judged by this: a run starved of CPU on a busy host is slow, not an
     * error. Zero turns it off.
     */
    public OpenScap stallingAfter(Duration limit) {
        if (limit == null || limit.isNegative()) {
            throw new IllegalArgumentException("the stall limit must not be negative: " + limit);
        }
        this.stallLimit = limit;
        return this;
    }

    /** True when the oscap binary runs ({@code oscap --version} exits with 0); decided once, on the first call. */
    public boolean available() {
        synchronized (availability) {
            if (available == null) {
                checkAvailability();
            }
            return available != null && available;
        }
    }

    private void checkAvailability() {
        try {
            Exec exec = run(new ProcessBuilder(command, "--version"), VERSION_TIMEOUT, Duration.ZERO, false,
                    pid -> { });
            if (exec.interrupted()) {
                unavailableReason = "interrupted while running `" + command + " --version`";
                return; // not decided: asked again next time
            }
            available = !exec.timedOut() && exec.exitCode() == 0;
            version = available ? exec.output().lines().findFirst().orElse("") : "";
            unavailableReason = available ? null
                    : exec.timedOut() ? "`" + command + " --version` did not answer within " + VERSION_TIMEOUT
                    : "`" + command + " --version` exited with " + exec.exitCode() + ": " + lastLines(exec.output());
        } catch (IOException e) {
            available = false;
            unavailableReason = "`" + command + "` cannot be run: " + e.getMessage();
        }
    }

    /**
     * What decides an evaluation besides the root filesystem: the oscap command and the version it reports, the
     * profile, and the name and bytes of every file in the content folder (the XCCDF and data-stream files
     * {@link #evaluate} reads and the OVAL files they refer to),
     * as {@code sha256:<hex>}. Two evaluations with the same digest on the same filesystem give the same rule
     * results, which is what lets a result be reused for the same layer chain.
     */
    public String configurationDigest() throws IOException {
        String v;
        synchronized (availability) {
            v = version;
        }
        java.security.MessageDigest sha;
        try {
            sha = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (String part : List.of(command, v, profile == null ? "" : profile)) {
            sha.update(part.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
        }
        List<Path> all;
        try (Stream<Path> files = Files.list(contentDir)) { // the OVAL files the XCCDF refers to count too
            all = files.filter(Files::isRegularFile).sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        }
        for (Path content : all) {
            sha.update(content.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            byte[] bytes = Files.readAllBytes(content);
            sha.update(Long.toString(bytes.length).getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(bytes);
        }
        return "sha256:" + java.util.HexFormat.of().formatHex(sha.digest());
    }

    /**
     * Evaluates every content file against the root filesystem. Never throws for a failing rule nor for an oscap
     * problem: those are {@code FAILED} and {@code ERROR} results. {@code NOT_RUN} when oscap is not available.
     */
    public ComplianceResult evaluate(Path rootfs) {
        return evaluate(rootfs, null);
    }

    /** As {@link #evaluate(Path, Duration, String, Consumer)}, for no image in particular and without notes. */
    public ComplianceResult evaluate(Path rootfs, Duration limitOrNull) {
        return evaluate(rootfs, limitOrNull, rootfs.toString(), note -> { });
    }

    /**
     * As {@link #evaluate(Path)}, within {@code limitOrNull} (the time left before the build's deadline): an oscap
     * process still running at its run limit or at that limit is killed, with the processes it started; one killed
     * at its run limit is run once more if time is left (logged, and told to {@code notes}, with {@code image}). An
     * interrupt kills it too.
     *
     * @param image what the root filesystem is of, for the log (an image id); never a secret
     * @param notes lines for the build's log: a timeout and its retry
     */
    public ComplianceResult evaluate(Path rootfs, Duration limitOrNull, String image, Consumer<String> notes) {
        return evaluate(rootfs, null, limitOrNull, image, notes);
    }

    /**
     * As {@link #evaluate(Path, Duration, String, Consumer)}, for the content files named in {@code onlyOrNull} (all
     * when null): a composed evaluation runs the composable content files on the delta view and the rest on the
     * whole root filesystem. The profile is checked against every content file of the folder, as for a whole run.
     */
    public ComplianceResult evaluate(Path rootfs, java.util.Set<String> onlyOrNull, Duration limitOrNull, String image,
            Consumer<String> notes) {
        Objects.requireNonNull(rootfs, "rootfs");
        if (!available()) {
            String reason;
            synchronized (availability) {
                reason = unavailableReason;
            }
            return ComplianceResult.notRun("OpenSCAP is not available, no compliance check ran: " + reason);
        }
        long deadline = limitOrNull == null ? Long.MAX_VALUE : System.nanoTime() + Math.max(0, limitOrNull.toNanos());
        Path root;
        try {
            root = rootfs.toRealPath();
        } catch (IOException e) {
            return error("the root filesystem " + rootfs + " cannot be read: " + e);
        }
        if (!Files.isDirectory(root)) {
            return error("the root filesystem " + rootfs + " is not a directory");
        }
        List<Path> contents;
        try {
            contents = contentFiles();
        } catch (IOException e) {
            return error("the compliance content folder " + contentDir + " cannot be read: " + e);
        }
        if (contents.isEmpty()) {
            return error("no compliance content: no *-xccdf.xml or *-ds.xml file in " + contentDir);
        }
        List<Boolean> useProfile = new ArrayList<>();
        for (Path content : contents) {
            useProfile.add(profile != null && declaresProfile(content));
        }
        if (profile != null && !useProfile.contains(true)) {
            return error("the profile " + profile + " is declared by none of the content files " + names(contents));
        }
        if (onlyOrNull != null) {
            List<Path> chosen = new ArrayList<>();
            List<Boolean> chosenProfile = new ArrayList<>();
            for (int i = 0; i < contents.size(); i++) {
                if (onlyOrNull.contains(contents.get(i).getFileName().toString())) {
                    chosen.add(contents.get(i));
                    chosenProfile.add(useProfile.get(i));
                }
            }
            if (chosen.isEmpty()) {
                return error("none of the content files " + onlyOrNull + " is in " + contentDir);
            }
            contents = chosen;
            useProfile = chosenProfile;
        }

        Size size = size(root);
        Duration perRun = runLimit.forBytes(size.bytes());
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < contents.size(); i++) {
            String name = contents.get(i).getFileName().toString();
            if (Thread.currentThread().isInterrupted()) {
                runs.add(Run.error(name, "not evaluated: interrupted"));
                continue;
            }
            Run run = null;
            for (int attempt = 1; attempt <= 2 && run == null; attempt++) {
                long left = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - System.nanoTime();
                if (left <= 0) {
                    run = Run.error(name, attempt == 1 ? "not evaluated: the build's deadline was reached"
                            : "oscap did not finish within " + perRun + " and was killed; no time was left before "
                                    + "the build's deadline to run it again");
                    break;
                }
                boolean ownLimit = left > perRun.toNanos();
                Duration limit = ownLimit ? perRun : Duration.ofNanos(left);
                long start = System.nanoTime();
                Duration stall = attempt == 1 && ownLimit ? stallLimit : Duration.ZERO;
                Attempt a = attempt(root, contents.get(i), useProfile.get(i), limit, stall);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                if (!a.timedOut()) {
                    if (attempt == 2) {
                        log.warn("OpenSCAP on image {}: the second run of {} ended in {} ms: {}", image, name,
                                took.toMillis(), a.run().status());
                        notes.accept("OpenSCAP: the second run of " + name + " ended in " + took.toMillis()
                                + " ms (" + a.run().status().name().toLowerCase(java.util.Locale.ROOT) + ")\n");
                    }
                    run = a.run();
                } else if (attempt == 1 && ownLimit && a.stalled() != null) {
                    log.warn("OpenSCAP on image {}: oscap on {} used no CPU time for {} ms (after {} ms; limit {} for "
                            + "a root filesystem of {} in {} files): hung, killed with {} process(es); running it once "
                            + "more", image, name, a.stalled().toMillis(), took.toMillis(), perRun,
                            human(size.bytes()), size.files(), a.killed());
                    notes.accept("OpenSCAP: oscap on " + name + " hung (no CPU time for " + a.stalled().toMillis()
                            + " ms) and was killed; running it once more\n");
                } else if (attempt == 1 && ownLimit) {
                    log.warn("OpenSCAP on image {}: oscap on {} timed out after {} ms (limit {} for a root filesystem "
                            + "of {} in {} files) and was killed with {} process(es); running it once more", image,
                            name, took.toMillis(), perRun, human(size.bytes()), size.files(), a.killed());
                    notes.accept("OpenSCAP: oscap on " + name + " did not finish within " + perRun + " ("
                            + took.toMillis() + " ms) and was killed; running it once more\n");
                } else {
                    if (attempt == 2) {
                        log.warn("OpenSCAP on image {}: oscap on {} timed out again after {} ms and was killed with "
                                + "{} process(es); compliance is an error", image, name, took.toMillis(), a.killed());
                        notes.accept("OpenSCAP: oscap on " + name + " timed out again (" + took.toMillis()
                                + " ms) and was killed\n");
                        run = Run.error(name, "oscap did not finish within " + perRun + " and was killed; run once "
                                + "more, it was killed again after " + took.toMillis() + " ms");
                    } else {
                        log.warn("OpenSCAP on image {}: oscap on {} was killed at the build's deadline after {} ms",
                                image, name, took.toMillis());
                        run = a.run();
                    }
                }
            }
            runs.add(run);
        }
        return merge(runs);
    }

    /** The regular files' bytes and the entries of a root filesystem; -1 bytes when it could not be walked. */
    record Size(long bytes, long files) {
    }

    /** Walks the root filesystem without following links (its files are hard links into the layer cache). */
    static Size size(Path root) {
        long[] totals = new long[2];
        try {
            Files.walkFileTree(root, new java.nio.file.SimpleFileVisitor<>() {
                @Override
                public java.nio.file.FileVisitResult visitFile(Path file,
                        java.nio.file.attribute.BasicFileAttributes attrs) {
                    totals[1]++;
                    if (attrs.isRegularFile()) {
                        totals[0] += attrs.size();
                    }
                    return java.nio.file.FileVisitResult.CONTINUE;
                }

                @Override
                public java.nio.file.FileVisitResult visitFileFailed(Path file, IOException e) {
                    totals[1]++;
                    return java.nio.file.FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            return new Size(-1, totals[1]);
        }
        return new Size(totals[0], totals[1]);
    }

    private static String human(long bytes) {
        return bytes < 0 ? "unknown size" : bytes < 10L * 1024 * 1024 ? (bytes / 1024) + " KiB"
                : (bytes / (1024 * 1024)) + " MiB";
    }

    private static ComplianceResult error(String message) {
        return new ComplianceResult(Status.ERROR, List.of(), List.of(), message);
    }

    /** The names of the content files evaluated ({@code *-xccdf.xml}, {@code *-ds.xml}), in order. */
    public List<String> contentNames() throws IOException {
        return contentFiles().stream().map(p -> p.getFileName().toString()).toList();
    }

    /**
     * What each content file declares about composing its rules ({@link Composition}): the content files with a
     * valid {@code <name>.compose} beside them. A declaration that cannot be read or parsed is left out (that content
     * file is evaluated in full) and logged.
     */
    public Map<String, Composition> compositions() throws IOException {
        Map<String, Composition> out = new java.util.LinkedHashMap<>();
        for (Path content : contentFiles()) {
            String name = content.getFileName().toString();
            Path declared = contentDir.resolve(Composition.fileFor(name));
            if (!Files.isRegularFile(declared)) {
                continue;
            }
            List<String> problems = new ArrayList<>();
            Optional<Composition> c = Composition.parse(Files.readString(declared, StandardCharsets.UTF_8), problems);
            if (c.isPresent()) {
                out.put(name, c.get());
            } else {
                log.warn("compliance composition {} is not valid, {} is evaluated in full: {}", declared, name,
                        problems);
            }
        }
        return out;
    }

    private List<Path> contentFiles() throws IOException {
        try (Stream<Path> files = Files.list(contentDir)) {
            return files.filter(p -> {
                String n = p.getFileName().toString();
                return (n.endsWith("-xccdf.xml") || n.endsWith("-ds.xml")) && Files.isRegularFile(p);
            }).sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
    }

    private static String names(List<Path> files) {
        return files.stream().map(p -> p.getFileName().toString()).collect(Collectors.joining(", "));
    }

    /** Whether the file declares the profile; when the file cannot be read, assumes it does and lets oscap decide. */
    private boolean declaresProfile(Path content) {
        List<String> ids;
        try {
            long size = Files.size(content);
            FileTime modified = Files.getLastModifiedTime(content);
            DeclaredProfiles cached = profileCache.get(content);
            if (cached != null && cached.size() == size && cached.modified().equals(modified)) {
                ids = cached.ids();
            } else {
                try (InputStream in = Files.newInputStream(content)) {
                    ids = XccdfResults.profiles(in);
                }
                profileCache.put(content, new DeclaredProfiles(size, modified, List.copyOf(ids)));
            }
        } catch (IOException e) {
            return true;
        }
        return ids.stream().anyMatch(id -> id.equals(profile) || id.endsWith("_" + profile));
    }

    /**
     * One oscap run's result, whether it was killed at its limit (then {@code killed} processes), and whether oscap
     * validated the content and accepted it in that run.
     */
    private record Attempt(Run run, boolean timedOut, int killed, boolean validated, Duration stalled) {
    }

    /**
     * One oscap run of a content file, with {@code --skip-valid} when oscap has validated the same bytes before (same
     * {@link #configurationDigest()} and file name). The digest is read before and after the run: a run that
     * validated is remembered only when the folder did not change meanwhile, and a run that skipped validation while
     * it changed is run again, validating, within what is left of {@code limit}. Without a digest (the folder cannot
     * be read), oscap validates.
     */
    private Attempt attempt(Path root, Path content, boolean withProfile, Duration limit, Duration stall) {
        String name = content.getFileName().toString();
        long start = System.nanoTime();
        String before = digestOrNull();
        String key = before == null ? null : before + " " + name;
        boolean skip = key != null && validated.contains(key);
        Attempt a = evaluateOne(root, content, withProfile, limit, skip, stall);
        if (key == null || !(skip || a.validated())) {
            return a;
        }
        String after = digestOrNull();
        if (before.equals(after)) {
            if (!skip && validated.add(key)) {
                if (validated.size() > VALIDATED_LIMIT) {
                    validated.clear();
                    validated.add(key);
                }
                log.info("OpenSCAP: oscap validated {} (content {}); later runs of the same content skip schema "
                        + "validation", name, before);
            }
            return a;
        }
        if (!skip || a.timedOut() || Thread.currentThread().isInterrupted()) {
            return a; // validated, but perhaps not the bytes of the key: not remembered
        }
        log.warn("OpenSCAP: the compliance content changed while oscap evaluated {} without validation; "
                + "evaluating it again with validation", name);
        Duration rest = limit.minusNanos(System.nanoTime() - start);
        if (rest.isNegative() || rest.isZero()) {
            return new Attempt(Run.error(name, "the compliance content changed during the evaluation and no time was "
                    + "left to evaluate it again with validation"), false, 0, false, null);
        }
        return evaluateOne(root, content, withProfile, rest, false, stall);
    }

    /** {@link #configurationDigest()}, or null when the content folder cannot be read (then oscap validates). */
    private String digestOrNull() {
        try {
            return configurationDigest();
        } catch (IOException | java.io.UncheckedIOException e) {
            return null;
        }
    }

    private Attempt evaluateOne(Path root, Path content, boolean withProfile, Duration limit, boolean skipValidation,
            Duration stall) {
        Exec[] exec = new Exec[1]; // how oscap ended, when it was started
        boolean[] validatedRun = new boolean[1];
        Run run = evaluateOne(root, content, withProfile, limit, skipValidation, stall, exec, validatedRun);
        return new Attempt(run, exec[0] != null && exec[0].timedOut(), exec[0] == null ? 0 : exec[0].killed(),
                validatedRun[0], exec[0] == null ? null : exec[0].stalled());
    }

    private Run evaluateOne(Path root, Path content, boolean withProfile, Duration limit, boolean skipValidation,
            Duration stall, Exec[] ran, boolean[] validatedRun) {
        String name = content.getFileName().toString();
        Path work = null;
        try {
            work = Files.createTempDirectory("oscap-");
            Path results = work.resolve("results.xml");
            Path arf = work.resolve("arf.xml");
            List<String> args = new ArrayList<>();
            if (SETSID != null) {
                args.add(SETSID); // a process group of its own, killed as one at the limit
            }
            args.addAll(List.of(command, "xccdf", "eval"));
            if (skipValidation) {
                args.add("--skip-valid"); // oscap validated these bytes before, in this JVM
            }
            if (withProfile) {
                args.addAll(List.of("--profile", profile));
            }
            args.addAll(List.of("--results", results.toString(), "--results-arf", arf.toString(),
                    content.toAbsolutePath().toString()));
            io.buildgateway.shared.BackgroundPriority background = priority;
            ProcessBuilder builder = new ProcessBuilder(background.command(args)).directory(work.toFile());
            Map<String, String> env = builder.environment();
            env.keySet().removeIf(k -> k.startsWith("OSCAP_"));
            env.put("OSCAP_PROBE_ROOT", root.toString()); // what oscap-chroot sets
            env.put("OSCAP_EVALUATION_TARGET", "chroot://" + root); // names the target in the results' facts
            Exec exec = run(builder, limit, stall, SETSID != null,
                    SETSID != null ? background::lowerSession : pid -> { });
            ran[0] = exec;
            if (exec.interrupted()) {
                return Run.error(name, "interrupted; oscap was killed");
            }
            if (exec.timedOut() && exec.stalled() != null) {
                return Run.error(name, "oscap used no CPU time for " + exec.stalled().toMillis() + " ms (hung) and "
                        + "was killed");
            }
            if (exec.timedOut()) {
                return Run.error(name, "oscap did not finish within " + limit + " and was killed");
            }
            byte[] arfXml = Files.isRegularFile(arf) ? Files.readAllBytes(arf) : null;
            XccdfResults.Parsed parsed = null;
            String unreadable = "oscap wrote no results file";
            if (Files.isRegularFile(results)) {
                try (InputStream in = Files.newInputStream(results)) {
                    parsed = XccdfResults.parse(in);
                } catch (IOException e) {
                    unreadable = e.getMessage();
                }
            }
            // oscap validates before it evaluates: a results file with a TestResult means it accepted the content
            validatedRun[0] = !skipValidation && (exec.exitCode() == 0 || exec.exitCode() == 2) && parsed != null
                    && parsed.hasTestResult();
            return interpret(name, exec, parsed, unreadable, arfXml);
        } catch (IOException e) {
            return Run.error(name, "oscap could not be run: " + e);
        } finally {
            if (work != null) {
                deleteTree(work);
            }
        }
    }

    /** Exit 0 = all pass, 2 = a rule failed, other = error; the rule results decide when they say more. */
    static Run interpret(String name, Exec exec, XccdfResults.Parsed parsed, String unreadable, byte[] arf) {
        int code = exec.exitCode();
        List<RuleResult> rules = parsed != null ? parsed.rules() : List.of();
        if (code != 0 && code != 2) {
            return new Run(name, Status.ERROR, rules, arf, "oscap exited with " + code + ": "
                    + lastLines(exec.output()));
        }
        if (parsed == null || !parsed.hasTestResult()) {
            return new Run(name, Status.ERROR, rules, arf, parsed == null ? unreadable
                    : "the results file has no TestResult");
        }
        List<String> broken = rules.stream().filter(r -> r.result().equals("error") || r.result().equals("unknown"))
                .map(r -> r.ruleId() + " (" + r.result() + ")").toList();
        if (!broken.isEmpty()) {
            return new Run(name, Status.ERROR, rules, arf, broken.size() + " rule(s) could not be evaluated: "
                    + String.join(", ", broken));
        }
        boolean failed = rules.stream().anyMatch(RuleResult::failed);
        if (failed) {
            return new Run(name, Status.FAILED, rules, arf, null);
        }
        if (code == 2) {
            return new Run(name, Status.ERROR, rules, arf, "oscap exited with 2 but no rule failed: "
                    + lastLines(exec.output()));
        }
        if (rules.stream().noneMatch(r -> r.result().equals("pass") || r.result().equals("fixed"))) {
            return new Run(name, Status.ERROR, rules, arf, "no rule was checked (" + rules.size()
                    + " selected, none passed or failed: not applicable or not checked)");
        }
        return new Run(name, Status.PASSED, rules, arf, null);
    }

    /**
     * ERROR if any file errored (an error is never reported as a pass, and wins over failures, which stay listed),
     * else FAILED if any rule failed, else PASSED.
     */
    static ComplianceResult merge(List<Run> runs) {
        List<RuleResult> rules = runs.stream().flatMap(r -> r.rules().stream()).toList();
        List<Arf> arfs = runs.stream().filter(r -> r.arf() != null).map(r -> new Arf(r.content(), r.arf())).toList();
        List<RuleResult> failed = rules.stream().filter(RuleResult::failed).toList();
        List<Run> errored = runs.stream().filter(r -> r.status() == Status.ERROR).toList();
        String failures = failed.isEmpty() ? "" : failed.size() + " of " + rules.size() + " rules failed: "
                + failed.stream().limit(10).map(r -> r.ruleId() + " (" + r.severity() + ")")
                        .collect(Collectors.joining(", ")) + (failed.size() > 10 ? ", ..." : "");
        if (runs.isEmpty()) {
            return new ComplianceResult(Status.ERROR, rules, arfs, "no compliance content was evaluated");
        }
        if (!errored.isEmpty()) {
            String errors = errored.stream().map(r -> r.content() + ": " + r.message())
                    .collect(Collectors.joining("; "));
            return new ComplianceResult(Status.ERROR, rules, arfs, bound(errors
                    + (failures.isEmpty() ? "" : "; and " + failures)));
        }
        if (!failed.isEmpty()) {
            return new ComplianceResult(Status.FAILED, rules, arfs, bound(failures));
        }
        long passed = rules.stream().filter(r -> r.result().equals("pass")).count();
        return new ComplianceResult(Status.PASSED, rules, arfs, passed + " of " + rules.size()
                + " rules passed, none failed (" + runs.size() + " content file" + (runs.size() == 1 ? "" : "s")
                + ": " + runs.stream().map(Run::content).collect(Collectors.joining(", ")) + ")");
    }

    private static String bound(String message) {
        return message.length() <= MESSAGE_LIMIT ? message : message.substring(0, MESSAGE_LIMIT - 3) + "...";
    }

    /** oscap's own error lines when it printed some, else its last lines; one line, bounded. */
    static String lastLines(String output) {
        List<String> lines = output.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        List<String> errors = lines.stream().filter(l -> l.startsWith("OpenSCAP Error") || l.startsWith("E: ")
                || l.startsWith("Error")).toList();
        List<String> chosen = !errors.isEmpty() ? errors : lines.subList(Math.max(0, lines.size() - 3), lines.size());
        String joined = String.join(" | ", chosen);
        return joined.isEmpty() ? "(no output)" : bound(joined);
    }

    /**
     * Starts the process, drains its merged stdout and stderr into a bounded buffer, kills it at the deadline, or
     * earlier when {@code stall} is positive and the process and its descendants used no CPU time for that long.
     */
    private static Exec run(ProcessBuilder builder, Duration limit, Duration stall, boolean ownGroup,
            java.util.function.LongConsumer started) throws IOException {
        builder.redirectErrorStream(true);
        builder.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Process process = builder.start();
        started.accept(process.pid());
        BoundedOutput output = new BoundedOutput(OUTPUT_LIMIT);
        Thread drain = new Thread(() -> output.drain(process.getInputStream()), "oscap-output-" + process.pid());
        drain.setDaemon(true);
        drain.start();
        boolean finished = false;
        boolean interrupted = false;
        Duration stalled = null;
        try {
            if (stall == null || stall.isZero() || !CpuTime.readable()) {
                finished = process.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS);
            } else {
                long end = System.nanoTime() + limit.toNanos();
                CpuTime cpu = new CpuTime(process.toHandle(), stall);
                for (long left = end - System.nanoTime(); left > 0 && !finished; left = end - System.nanoTime()) {
                    finished = process.waitFor(Math.min(left, CpuTime.POLL.toNanos()), TimeUnit.NANOSECONDS);
                    if (!finished && cpu.stalled()) {
                        stalled = cpu.idleFor();
                        break;
                    }
                }
            }
        } catch (InterruptedException e) {
            finished = false;
            interrupted = true;
        }
        int killed = 0;
        if (!finished) {
            killed = kill(process, ownGroup);
        }
        try {
            drain.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return new Exec(finished ? process.exitValue() : -1, !finished && !interrupted, interrupted, output.text(),
                killed, finished || interrupted ? null : stalled);
    }

    /**
     * The CPU time a process and its descendants have used, read from {@code /proc/<pid>/stat} (user + system clock
     * ticks, every thread of the process included), and since when it has not grown. A process that waits on a lock
     * forever uses none; one that works, even slowly on a busy host at a low priority, uses some every few seconds.
     */
    static final class CpuTime {

        static final Duration POLL = Duration.ofMillis(500);
        private final ProcessHandle process;
        private final long stallNanos;
        private long lastTicks = -1;
        private long lastChange = System.nanoTime();

        CpuTime(ProcessHandle process, Duration stall) {
            this.process = process;
            this.stallNanos = stall.toNanos();
        }

        static boolean readable() {
            return Files.isReadable(Path.of("/proc/self/stat"));
        }

        /** Reads the ticks again; true when they have not grown for the stall limit. */
        boolean stalled() {
            long ticks = ticks(process);
            long total = ticks < 0 ? -1 : ticks + process.descendants().mapToLong(CpuTime::ticks)
                    .filter(t -> t > 0).sum();
            long now = System.nanoTime();
            if (total < 0 || total != lastTicks) {
                lastTicks = total;
                lastChange = now;
                return false;
            }
            return now - lastChange >= stallNanos;
        }

        Duration idleFor() {
            return Duration.ofNanos(System.nanoTime() - lastChange);
        }

        /** utime + stime of {@code /proc/<pid>/stat}, or -1 when it cannot be read (the process ended). */
        static long ticks(ProcessHandle p) {
            String[] f = ProcFiles.statFields(Path.of("/proc/" + p.pid() + "/stat"));
            try {
                return f == null ? -1 : Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of the line
            } catch (RuntimeException e) {
                return -1;
            }
        }
    }

    /**
     * Kills the process and every process it started (SIGKILL). A process started through {@code setsid} leads a
     * process group of its own: the group is killed at once ({@code kill -KILL -- -<pgid>}), so that no process of
     * it reacts to another's death or starts one more meanwhile. Then, and without {@code setsid}, the process and
     * the descendants read before are killed, parents first (a parent killed after its child could act on the
     * child's death; a child is reparented out of the tree when its parent dies, hence the list read first).
     * Returns how many processes were killed.
     */
    static int kill(Process process, boolean ownGroup) {
        List<ProcessHandle> tree = process.descendants().toList();
        if (ownGroup && KILL != null) {
            try {
                Process group = new ProcessBuilder(KILL, "-KILL", "--", "-" + process.pid())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (!group.waitFor(5, TimeUnit.SECONDS)) {
                    group.destroyForcibly();
                }
            } catch (IOException e) {
                log.warn("oscap's process group {} could not be killed: {}", process.pid(), e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        process.destroyForcibly();
        java.util.Set<ProcessHandle> all = new java.util.LinkedHashSet<>();
        all.add(process.toHandle());
        all.addAll(tree); // ProcessHandle.descendants lists children before their children
        tree.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : tree) { // what a listed process started before it was killed
            p.descendants().forEach(d -> {
                d.destroyForcibly();
                all.add(d);
            });
        }
        boolean interrupted = false;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (ProcessHandle p : all) {
            try {
                p.onExit().get(Math.max(0, until - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                log.warn("oscap's process {} did not end within 5 s of SIGKILL", p.pid());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return all.size();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // a leftover in the temporary folder; nothing else to do
                }
            });
        } catch (IOException ignored) {
            // same
        }
    }

    /** The first and the last {@code limit / 2} bytes of a stream, with a note of what was left out between. */
    static final class BoundedOutput {

        private final int half;
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final byte[] tail;
        private long tailWritten;

        BoundedOutput(int limit) {
            this.half = limit / 2;
            this.tail = new byte[half];
        }

        void drain(InputStream in) {
            byte[] buffer = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    write(buffer, n);
                }
            } catch (IOException ignored) {
                // the process was killed or closed its output: keep what was read
            }
        }

        synchronized void write(byte[] buffer, int n) {
            int offset = 0;
            if (head.size() < half) {
                int take = Math.min(n, half - head.size());
                head.write(buffer, 0, take);
                offset = take;
            }
            for (int i = offset; i < n; i++) {
                tail[(int) (tailWritten++ % half)] = buffer[i];
            }
        }

        synchronized String text() {
            StringBuilder text = new StringBuilder(head.toString(StandardCharsets.UTF_8));
            if (tailWritten > 0) {
                int kept = (int) Math.min(tailWritten, half);
                if (tailWritten > half) {
                    text.append("\n[... ").append(tailWritten - half).append(" bytes left out ...]\n");
                }
                byte[] ordered = new byte[kept];
                int start = (int) (tailWritten % half);
                for (int i = 0; i < kept; i++) {
                    ordered[i] = tail[(tailWritten > half ? start + i : i) % half];
                }
                text.append(new String(ordered, StandardCharsets.UTF_8));
            }
            return text.toString();
        }
    }
}
