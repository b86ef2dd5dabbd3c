package io.buildgateway.policy;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.Digest;
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
import java.util.concurrent.TimeUnit;
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
class PolicyStore {

    private static final Logger log = LoggerFactory.getLogger(PolicyStore.class);
    private static final int MAX_FILE = 1024 * 1024;

    private final PolicyProperties properties;
    private final ApplicationEventPublisher events;
    private final ScheduledExecutorService watcher;
    private volatile PolicyDocument current;
    private volatile String lastFailedDigest;

    PolicyStore(PolicyProperties properties, ApplicationEventPublisher events) {
        this.properties = properties;
        this.events = events;
        this.current = load(properties.dir(), properties.approvedBasePrefixes());
        log.info("policy {} loaded from {}", current.digest(), properties.dir().toAbsolutePath());
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "policy-watch");
            t.setDaemon(true);
            return t;
        });
    }

    @EventListener(ApplicationReadyEvent.class)
    void start() {
        audit("policy.loaded", AuditRecord.Outcome.SUCCESS, Map.of("digest", current.digest(),
                "dir", properties.dir().toString()));
        long every = properties.reloadInterval().toMillis();
        watcher.scheduleWithFixedDelay(this::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
    }

    @PreDestroy
    void stop() {
        watcher.shutdownNow();
    }

    PolicyDocument current() {
        return current;
    }

    void reloadIfChanged() {
        String digest;
        try {
            digest = digestOf(read(properties.dir()), properties.approvedBasePrefixes());
        } catch (RuntimeException e) {
            digest = "unreadable";
        }
        if (digest.equals(current.digest()) || digest.equals(lastFailedDigest)) {
            return;
        }
        try {
            PolicyDocument next = load(properties.dir(), properties.approvedBasePrefixes());
            String previous = current.digest();
            current = next;
            lastFailedDigest = null;
            log.info("policy changed: {} -> {}", previous, next.digest());
            audit("policy.loaded", AuditRecord.Outcome.SUCCESS, Map.of("digest", next.digest(), "previous", previous,
                    "dir", properties.dir().toString()));
        } catch (RuntimeException e) {
            lastFailedDigest = digest;
            log.error("policy change refused, {} stays in force: {}", current.digest(), e.getMessage());
            audit("policy.load-failed", AuditRecord.Outcome.FAILED, Map.of("error", e.getMessage(), "inForce",
                    current.digest()));
        }
    }

    private void audit(String action, AuditRecord.Outcome outcome, Map<String, ?> details) {
        try {
            events.publishEvent(new AuditRecord(action, "policy", outcome, details, RequestInfo.system()));
        } catch (RuntimeException e) {
            log.warn("could not audit {}", action, e);
        }
    }

    /** Reads and validates a policy folder; throws {@link PolicyDocument.InvalidPolicyException} with the reason. */
    static PolicyDocument load(Path dir, List<String> extraPrefixes) {
        Map<String, String> files = read(dir);
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
}
