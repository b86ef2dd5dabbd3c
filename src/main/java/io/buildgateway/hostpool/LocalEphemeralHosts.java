package io.buildgateway.hostpool;

import io.buildgateway.shared.AuditRecord;
import io.buildgateway.shared.DaemonThreads;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Ephemeral hosts on this machine: each a fresh dockerd 26 with user-namespace remapping, its own data root, exec
 * root and socket, in a loopback-only network namespace whose one way out is the forwarder to the token registry.
 * Started and destroyed by {@code scripts/buildhost.sh} — the recipe {@code scripts/env.sh} uses for host1, kept in
 * one shell script rather than redone in Java: network namespaces, nsenter, socat and mount clean-up are shell
 * tools' work, an operator can run the same script by hand, and the gateway runs as root locally anyway (as
 * {@code make run} does). Base images are not shared: every host starts with an empty image store, and the build
 * pulls its granted images with its own token. With {@code local.egress} set, each daemon also gets the egress bridge
 * and a forwarder to the gateway's egress proxy (issue #14; the script sets it up as env.sh does for its host).
 */
final class LocalEphemeralHosts extends EphemeralHosts {

    /** Threads that read the script's output (not the common pool: it has one thread on a 2-core machine). */
    private static final ExecutorService READERS = Executors
            .newCachedThreadPool(DaemonThreads.named("buildhost-script-output"));

    private final HostPoolProperties.Local local;
    private final String registry;
    private final Path root;
    private final Path runDir;

    LocalEphemeralHosts(HostPoolProperties.Ephemeral config, String registry, Verifier verifier,
            Consumer<AuditRecord> audit) {
        super(config, verifier, audit);
        this.local = config.local();
        if (local.root() == null) {
            throw new IllegalStateException("gateway.hostpool.ephemeral.local.root must name a folder for the"
                    + " ephemeral hosts' data roots");
        }
        if (local.tokenSocket() == null || local.tokenSocket().toString().isBlank()) {
            throw new IllegalStateException("gateway.hostpool.ephemeral.local.token-socket must name the token"
                    + " registry's socket (docs/security.md)");
        }
        this.registry = registry;
        this.root = local.root().toAbsolutePath().normalize();
        this.runDir = local.runDir() != null ? local.runDir() : Path.of("/run/bgw-eph-" + hash(root.toString()));
    }

    private static String hash(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(s.getBytes(StandardCharsets.UTF_8))).substring(0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    Path root() {
        return root;
    }

    Path runDir() {
        return runDir;
    }

    @Override
    protected String kind() {
        return "local";
    }

    @Override
    protected Started start(String id, Duration timeout) throws Exception {
        Result r = script(timeout, "start", id);
        if (r.exit() != 0) {
            throw new IOException("scripts/buildhost.sh start exited " + r.exit() + ": " + tail(r.err()));
        }
        String endpoint = r.out().strip();
        if (!endpoint.startsWith("unix://")) {
            throw new IOException("scripts/buildhost.sh start printed no endpoint: " + tail(r.out()));
        }
        // With egress settings the script gave the daemon the bridge and the forwarder (or failed the start).
        return new Started(new HostPoolProperties.Host(id, endpoint, 1, null, HostPoolProperties.Builder.BUILDKIT,
                local.egress() == null ? null : local.egress().address(), null, null),
                Map.of("networkNamespace", "bgw-eph-" + id));
    }

    @Override
    protected List<String> destroy(String id) throws Exception {
        Result stop = script(Duration.ofMinutes(2), "stop", id);
        List<String> left = new ArrayList<>();
        if (stop.exit() != 0) {
            left.add("stop exited " + stop.exit() + ": " + tail(stop.err()));
        }
        Result check = script(Duration.ofSeconds(30), "check", id);
        if (check.exit() != 0) {
            check.out().lines().filter(l -> !l.isBlank()).forEach(left::add);
        }
        return left;
    }

    /** Whether nothing of host {@code id} is left (no folder, namespace, process or mount), by the script's check. */
    List<String> leftovers(String id) throws Exception {
        Result check = script(Duration.ofSeconds(30), "check", id);
        return check.exit() == 0 ? List.of() : check.out().lines().filter(l -> !l.isBlank()).toList();
    }

    @Override
    protected List<String> orphans() throws Exception {
        Result list = script(Duration.ofSeconds(30), "list", "-");
        return list.exit() != 0 ? List.of() : list.out().lines().map(String::strip)
                .filter(l -> l.matches("h[0-9a-f]{10}")).toList();
    }

    private record Result(int exit, String out, String err) {
    }

    private Result script(Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(local.script().toString());
        command.addAll(Arrays.asList(args));
        if (args[0].equals("list")) {
            command.remove(command.size() - 1);
        }
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = pb.environment();
        env.put("BGW_REGISTRY", registry);
        env.put("BGW_TOKEN_SOCKET", local.tokenSocket().toString());
        env.put("BGW_BUILDHOST_ROOT", root.toString());
        env.put("BGW_BUILDHOST_RUN", runDir.toString());
        env.remove("BGW_BUILDHOST_EGRESS");
        if (local.egress() != null) {
            env.put("BGW_BUILDHOST_EGRESS", local.egress().proxy());
            env.put("BGW_BUILDHOST_EGRESS_BRIDGE", local.egress().bridge());
            env.put("BGW_BUILDHOST_EGRESS_PORT", Integer.toString(local.egress().port()));
        }
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        // Both streams are small (an endpoint, a few log lines); read on their own threads so neither blocks.
        var out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()), READERS);
        var err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()), READERS);
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new IOException("scripts/buildhost.sh " + args[0] + " " + args[1] + " took longer than " + timeout);
        }
        return new Result(p.exitValue(), out.join(), err.join());
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    private static String tail(String s) {
        String t = s.strip();
        return t.length() > 600 ? "…" + t.substring(t.length() - 600) : t;
    }
}
