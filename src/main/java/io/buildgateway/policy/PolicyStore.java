package io.buildgateway.policy;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.PeriodicTasks;
import io.buildgateway.shared.RequestInfo;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Holds the policy in force. Loads {@code config/policy/*.yaml} at start-up (an invalid policy stops the gateway:
 * it must never run without its gate) and checks the files for changes; a valid change takes effect at once, an
 * invalid one is logged and audited and the previous policy stays. Every load is audited with its digest.
 */
@Component
class PolicyStore implements PeriodicTasks.Owner {

    private static final Logger log = LoggerFactory.getLogger(PolicyStore.class);
    private static final int MAX_FILE = 1024 * 1024;

    private final PolicyProperties properties;
    private final ApplicationEventPublisher events;
    private final ScheduledExecutorService watcher;
    /** The policy files' check every reload-interval, while the context runs this bean. */
    private final PeriodicTasks periodic;
    private volatile PolicyDocument current;
    /** The files of the policy in force, name to SHA-256: what a reload's audit event compares with. */
    private volatile Map<String, String> currentFiles;
    private volatile String lastFailedDigest;
    /**
     * Audit events of policy changes already in force whose write failed (the database away): written, in order,
     * before anything else at each later check, so that a change in force is never missing from the trail. Each
     * returns whether it is now written (or was recorded by another replica).
     */
    private final java.util.Deque<java.util.function.BooleanSupplier> unaudited =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    /** The files a change is loaded from must read the same at two checks in a row. */
    private final Settle settle = new Settle();

    private final org.springframework.jdbc.core.JdbcTemplate jdbc;
    private final org.springframework.transaction.support.TransactionTemplate tx;

    PolicyStore(PolicyProperties properties, ApplicationEventPublisher events,
            org.springframework.jdbc.core.JdbcTemplate jdbc,
            org.springframework.transaction.support.TransactionTemplate tx) {
        this.properties = properties;
        this.events = events;
        this.jdbc = jdbc;
        this.tx = tx;
        Map<String, String> files = read(properties.dir());
        this.current = load(files, properties.dir(), properties.approvedBasePrefixes());
        this.currentFiles = fileDigests(files);
        log.info("policy {} loaded from {}", current.digest(), properties.dir().toAbsolutePath());
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "policy-watch");
            t.setDaemon(true);
            return t;
        });
        this.periodic = new PeriodicTasks(watcher).every(properties.reloadInterval(), properties.reloadInterval(),
                this::reloadIfChanged);
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("digest", current.digest());
        details.put("dir", properties.dir().toString());
        details.put("files", currentFiles);
        details.put("waivers", current.waivers().stream().map(PolicyStore::describe).toList());
        unaudited.add(() -> audit("policy.loaded", AuditRecord.Outcome.SUCCESS, details));
        auditPending();
        try {
            // The replicas' shared view of the policy in force starts from what this replica loaded, so that its
            // next change is recorded once whichever replica sees it first.
            jdbc.update("insert into policy_head (id, digest, changed_at) values (1, ?, now()) on conflict (id) do"
                    + " update set digest = excluded.digest, failed_digest = null, changed_at = now()"
                    + " where policy_head.digest is distinct from excluded.digest", current.digest());
        } catch (RuntimeException e) {
            log.warn("could not record the policy in force in policy_head", e);
        }
        periodic.ready();
    }

    /**
     * The watch pauses with the context and, started again, reads the files at once (PeriodicTasks): a change made
     * meanwhile is put in force as any other, once two reads in a row agree.
     */
    @Override
    public PeriodicTasks periodicTasks() {
        return periodic;
    }

    @PreDestroy
    void close() {
        watcher.shutdownNow();
    }

    PolicyDocument current() {
        return current;
    }

    void reloadIfChanged() {
        auditPending();
        String digest;
        Map<String, String> files = null;
        try {
            files = read(properties.dir());
            digest = digestOf(files, properties.approvedBasePrefixes());
        } catch (RuntimeException e) {
            digest = "unreadable";
        }
        if (digest.equals(current.digest()) || digest.equals(lastFailedDigest)) {
            settle.reset();
            return;
        }
        if (!settle.settled(digest)) {
            return; // changed since the last check: loaded at the next one if the files still read the same
        }
        try {
            PolicyDocument next = files == null ? load(properties.dir(), properties.approvedBasePrefixes())
                    : load(files, properties.dir(), properties.approvedBasePrefixes());
            PolicyDocument previous = current;
            Map<String, String> previousFiles = currentFiles;
            Map<String, String> nextFiles = fileDigests(files == null ? read(properties.dir()) : files);
            current = next;
            currentFiles = nextFiles;
            lastFailedDigest = null;
            log.info("policy changed: {} -> {}", previous.digest(), next.digest());
            Map<String, Object> changes = changes(previous, previousFiles, next, nextFiles);
            String nextDigest = next.digest();
            String previousDigest = previous.digest();
            unaudited.add(() -> auditOnce(nextDigest, previousDigest, null, "policy.loaded", AuditRecord.Outcome.SUCCESS,
                    changes));
        } catch (RuntimeException e) {
            lastFailedDigest = digest;
            String inForce = current.digest();
            log.error("policy change refused, {} stays in force: {}", inForce, e.getMessage());
            String failed = digest;
            Map<String, Object> details = Map.of("error", String.valueOf(e.getMessage()), "inForce", inForce);
            unaudited.add(() -> auditOnce(failed, null, inForce, "policy.load-failed", AuditRecord.Outcome.FAILED,
                    details));
        }
        auditPending();
    }

    /** Writes the unaudited events in order; stops at the first that cannot be written (tried again next time). */
    private synchronized void auditPending() {
        for (java.util.function.BooleanSupplier next = unaudited.peek(); next != null; next = unaudited.peek()) {
            if (!next.getAsBoolean()) {
                log.warn("{} policy event(s) not yet in the audit trail; tried again at the next check",
                        unaudited.size());
                return;
            }
            unaudited.poll();
        }
    }

    /** How many policy events wait to be written to the audit trail (0 normally). */
    int unaudited() {
        return unaudited.size();
    }

    /**
     * Audits a change of the policy files once across replicas: every replica watching the folder loads the change
     * (each holds the policy in memory), but only the one that moves the shared {@code policy_head} row records it,
     * in the same transaction; the others find the row already moved (its lock makes them wait and then see it).
     * The move is a compare-and-set: a change moves the head only from the digest it changed (a loaded policy from
     * {@code previous}, a refused one while {@code failedWhileInForce} is in force). An event written late (the
     * database was away) for a change the other replicas have since moved past is dropped, not written after the
     * newer one, and never moves the head back. Returns false when it could not be written (tried again later).
     */
    private boolean auditOnce(String digest, String previous, String failedWhileInForce, String action,
            AuditRecord.Outcome outcome, Map<String, ?> details) {
        try {
            tx.executeWithoutResult(s -> {
                int moved = failedWhileInForce != null
                        ? jdbc.update("insert into policy_head (id, digest, failed_digest, changed_at)"
                                + " values (1, ?, ?, now()) on conflict (id) do update set failed_digest ="
                                + " excluded.failed_digest, changed_at = now() where policy_head.failed_digest is"
                                + " distinct from excluded.failed_digest and policy_head.digest = excluded.digest",
                                failedWhileInForce, digest)
                        : jdbc.update("insert into policy_head (id, digest, changed_at) values (1, ?, now())"
                                + " on conflict (id) do update set digest = excluded.digest, failed_digest = null,"
                                + " changed_at = now() where policy_head.digest = ?", digest, previous);
                if (moved == 1) {
                    events.publishEvent(new AuditRecord(action, "policy", outcome, details, RequestInfo.system()));
                } else {
                    log.info("{} {}: already recorded by another replica", action, digest);
                }
            });
            return true;
        } catch (RuntimeException e) {
            log.warn("could not audit {} {}", action, digest, e);
            return false;
        }
    }

    private boolean audit(String action, AuditRecord.Outcome outcome, Map<String, ?> details) {
        try {
            events.publishEvent(new AuditRecord(action, "policy", outcome, details, RequestInfo.system()));
            return true;
        } catch (RuntimeException e) {
            log.warn("could not audit {}", action, e);
            return false;
        }
    }

    /**
     * What a reload changed, for its audit event: both digests, every file's SHA-256, the files added, removed and
     * modified, and the waivers added and removed (rule, team, image, line, approver, expiry; not the reason's text).
     */
    static Map<String, Object> changes(PolicyDocument previous, Map<String, String> previousFiles, PolicyDocument next,
            Map<String, String> nextFiles) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("digest", next.digest());
        details.put("previous", previous.digest());
        details.put("files", nextFiles);
        details.put("added", nextFiles.keySet().stream().filter(f -> !previousFiles.containsKey(f)).toList());
        details.put("removed", previousFiles.keySet().stream().filter(f -> !nextFiles.containsKey(f)).toList());
        details.put("modified", nextFiles.entrySet().stream().filter(f -> previousFiles.containsKey(f.getKey())
                && !previousFiles.get(f.getKey()).equals(f.getValue())).map(Map.Entry::getKey).toList());
        List<String> before = previous.waivers().stream().map(PolicyStore::describe).toList();
        List<String> after = next.waivers().stream().map(PolicyStore::describe).toList();
        details.put("waiversAdded", after.stream().filter(w -> !before.contains(w)).toList());
        details.put("waiversRemoved", before.stream().filter(w -> !after.contains(w)).toList());
        return details;
    }

    private static String describe(PolicyDocument.Waiver w) {
        return w.rule() + " team=" + w.team() + (w.image() == null ? "" : " image=" + w.image())
                + (w.line() == null ? "" : " line=" + w.line()) + " approver=" + w.approver() + " expires="
                + w.expires();
    }

    private static Map<String, String> fileDigests(Map<String, String> files) {
        Map<String, String> digests = new java.util.TreeMap<>();
        files.forEach((name, text) -> digests.put(name, sha256(text)));
        return digests;
    }

    private static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads and validates a policy folder; throws {@link PolicyDocument.InvalidPolicyException} with the reason. */
    static PolicyDocument load(Path dir, List<String> extraPrefixes) {
        return load(read(dir), dir, extraPrefixes);
    }

    static PolicyDocument load(Map<String, String> files, Path dir, List<String> extraPrefixes) {
        if (files.isEmpty()) {
            throw new PolicyDocument.InvalidPolicyException("no policy files (*.yaml) in " + dir.toAbsolutePath());
        }
        Map<String, Map<String, Object>> parsed = new LinkedHashMap<>();
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(10);
        options.setCodePointLimit(MAX_FILE);
        for (Map.Entry<String, String> f : files.entrySet()) {
            Object doc;
            try {
                doc = new Yaml(new SafeConstructor(options)).load(f.getValue());
            } catch (RuntimeException e) {
                throw new PolicyDocument.InvalidPolicyException(f.getKey() + ": not valid YAML ("
                        + e.getMessage().lines().findFirst().orElse("") + ")");
            }
            parsed.put(f.getKey(), doc == null ? Map.of() : PolicyDocument.map(doc, f.getKey()));
        }
        if (!extraPrefixes.isEmpty()) {
            parsed.put("(gateway.policy.approved-base-prefixes)", Map.of("approvedImages", List.copyOf(extraPrefixes)));
        }
        StringBuilder source = new StringBuilder();
        files.forEach((name, text) -> source.append("# file: ").append(name).append('\n').append(text)
                .append(text.endsWith("\n") ? "" : "\n"));
        return PolicyDocument.from(parsed, PolicyEvaluator.knownRuleIds(), digestOf(files, extraPrefixes), source.toString());
    }

    private static Map<String, String> read(Path dir) {
        Map<String, String> files = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            throw new PolicyDocument.InvalidPolicyException("policy folder " + dir.toAbsolutePath() + " does not exist");
        }
        try (Stream<Path> list = Files.list(dir)) {
            List<Path> yamls = new ArrayList<>(list.filter(p -> p.getFileName().toString().matches("[^.].*\\.ya?ml"))
                    .sorted().toList());
            for (Path p : yamls) {
                if (Files.size(p) > MAX_FILE) {
                    throw new PolicyDocument.InvalidPolicyException(p.getFileName() + ": larger than 1 MiB");
                }
                files.put(p.getFileName().toString(), Files.readString(p, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new PolicyDocument.InvalidPolicyException("cannot read " + dir.toAbsolutePath() + ": "
                    + e.getMessage());
        }
        return files;
    }

    static String digestOf(Map<String, String> files, List<String> extraPrefixes) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(("rules:" + PolicyEvaluator.RULESET_VERSION + "\0").getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, String> f : files.entrySet()) {
                sha.update((f.getKey() + "\0" + f.getValue() + "\0").getBytes(StandardCharsets.UTF_8));
            }
            sha.update(String.join("\n", extraPrefixes).getBytes(StandardCharsets.UTF_8));
            return Digest.sha256(sha.digest()).value();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A change of the policy files is loaded only once two checks in a row read the same files. A file caught while
     * it is written (truncated, half written: an empty {@code policy.yaml} reads as an empty document, which is
     * valid) would otherwise be put in force and audited for one check interval, and another replica reading the
     * finished file a moment later would record a second change (ReplicasIT saw exactly that). What a change costs:
     * it takes effect one interval later.
     */
    static final class Settle {
        private String seen;

        /** True when {@code digest} is what the previous call saw too; remembers it for the next call. */
        synchronized boolean settled(String digest) {
            boolean same = digest.equals(seen);
            seen = digest;
            return same;
        }

        /** The files read as the policy in force (or as the last refused change) again: nothing is pending. */
        synchronized void reset() {
            seen = null;
        }
    }
}
