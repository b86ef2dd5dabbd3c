package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.dockerfile.CanonicalDockerfile;
import io.buildgateway.dockerfile.DockerfileParser;
import io.buildgateway.support.IntegrationTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code scripts/lib/keep-dockerd.sh}, which keeps {@code make run}'s build host daemons running, against a real
 * dockerd 26 of its own (its own data root, exec root and socket; no other test's daemon is touched): the daemon
 * ended by BuildKit's own panic on an empty {@code ${V#}} pattern (the crash the policy refuses, here sent to the
 * daemon directly) and by {@code kill -9} is started again and answers; stopping the keeper stops the daemon for good.
 * The same daemon is the oracle of the crash guard's reading of RUN lines.
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
class DockerdKeeperIT {

    private static final Path KEEPER = Path.of("scripts/lib/keep-dockerd.sh");

    private static Path dir;
    private static Path run;
    private static Path socket;
    private static Path daemonPid;
    private static Path keeperPid;
    private static Path log;
    private static Process keeper;

    /** One daemon for the class: the crash test first (the keeper brings the daemon back), then the one that stops it. */
    @BeforeAll
    static void startKeptDaemon() throws IOException {
        String id = UUID.randomUUID().toString().substring(0, 8);
        dir = Files.createDirectories(Path.of("target", "dockerd-keeper-it", id)).toAbsolutePath();
        // Unix socket paths are limited to ~100 bytes: the socket and exec root go to a short folder.
        run = Files.createDirectories(Path.of("/run", "bgw-keep-" + id));
        socket = run.resolve("docker.sock");
        daemonPid = dir.resolve("docker.pid");
        keeperPid = dir.resolve("keeper.pid");
        log = dir.resolve("dockerd.log");
        List<String> command = new ArrayList<>(List.of("setsid", KEEPER.toAbsolutePath().toString(),
                keeperPid.toString(), log.toString(), "--", "dockerd", "--host", "unix://" + socket,
                "--data-root", dir.resolve("data").toString(), "--exec-root", run.resolve("exec").toString(),
                "--pidfile", daemonPid.toString(), "--iptables=false", "--ip-masq=false", "--bridge=none",
                "--insecure-registry", IntegrationTest.registryAddress()));
        keeper = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        // A JVM that ends before @AfterAll (killed by a timeout) leaves no keeper starting a daemon for ever.
        Process started = keeper;
        Runtime.getRuntime().addShutdownHook(new Thread(started::destroy));
        eventually("the kept daemon answering", Duration.ofSeconds(60), DockerdKeeperIT::answers);
    }

    @AfterAll
    static void stopEverything() throws Exception {
        if (keeper != null && keeper.isAlive()) {
            keeper.destroy(); // TERM: the keeper stops its daemon
            keeper.waitFor(30, TimeUnit.SECONDS);
            keeper.destroyForcibly();
        }
        long pid = pid(daemonPid);
        if (pid > 0) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
        // The daemon's containerd (pkill run alone: it never matches itself), then mounts under both folders.
        runAnyExit("pkill", "-9", "-f", run.toString());
        runAnyExit("sh", "-c", "findmnt -rn -o TARGET | grep -F -e " + run + " -e " + dir + " | sort -r"
                + " | xargs -r -n1 umount -l; rm -rf " + run + " " + dir);
    }

    @Test
    @org.junit.jupiter.api.Order(2)
    void aDaemonEndedByKillIsStartedAgainAndStoppingTheKeeperStopsIt() throws Exception {
        // (a daemon ended by BuildKit's panic: the next test)
        long second = pid(daemonPid);
        assertThat(second).as("the daemon's pid file").isPositive();
        runAnyExit("kill", "-9", Long.toString(second));
        eventually("the daemon started again after kill -9", Duration.ofSeconds(60),
                () -> answers() && pid(daemonPid) > 0 && pid(daemonPid) != second);
        assertThat(Files.readString(log)).contains("keep-dockerd: the daemon exited with status 137");

        long third = pid(daemonPid);
        keeper.destroy();
        assertThat(keeper.waitFor(30, TimeUnit.SECONDS)).as("the keeper ends on TERM").isTrue();
        eventually("the daemon stopped with its keeper", Duration.ofSeconds(30), () -> !running(third));
        Thread.sleep(1_500); // longer than the keeper's pause between starts: nothing starts the daemon again
        assertThat(answers()).as("no daemon after the keeper stopped").isFalse();
        assertThat(Files.readString(log)).contains("keep-dockerd: stopped");
        assertThat(keeperPid).as("the keeper removes its pid file").doesNotExist();
    }

    /**
     * The crash guard's reading of RUN (docs/security.md) against BuildKit itself, on this class's own daemon: the
     * RUN forms the guard lets through (a script's own variables, special parameters, quotes BuildKit keeps, a
     * pattern starting with a variable nothing sets) are built, all in one build, and the daemon survives and builds
     * them; the forms it refuses (a pattern empty as written, one a modifier empties) really do end the daemon.
     */
    @Test
    @org.junit.jupiter.api.Order(1)
    void theRunFormsTheCrashGuardLetsThroughBuildAndTheOnesItRefusesEndTheDaemon() throws Exception {
        String base = IntegrationTest.registryAddress() + "/base/busybox";
        assertThat(runAnyExit("curl", "-sS", "-m", "120", "--noproxy", "*", "--unix-socket", socket.toString(), "-X",
                "POST", "http://localhost/images/create?fromImage=" + base + "&tag=latest")).doesNotContain("error");
        List<String> allowed = List.of("${f%$ext}", "\"${f#\"$P\"}\"", "${f%/*}", "${1#-}", "${PATH#$1}",
                "\"${PATH#''}\"", "${l%$'\\r'}", "${f#$(pwd)/}", "${PATH#$NOT_SET}", "${PATH#$@}", "${PATH#$#}",
                "${PATH#$$}", "${PATH#$?}", "${PATH#$!}", "${PATH#$0}", "${PATH#$-}", "${PATH#$*}", "${PATH#${1}}",
                "${PATH#${@}}", "${PATH##}", "${PATH#x$P}");
        // One RUN line (one step's container), which BuildKit expands as a whole, as it would each line alone.
        StringBuilder file = new StringBuilder("FROM " + base + "\nARG P=x\nRUN true");
        for (String form : allowed) {
            String one = "FROM " + base + "\nARG P=x\nRUN echo " + form + "\n";
            assertThat(CanonicalDockerfile.write(DockerfileParser.parse(one), true).problems()).as(one).isEmpty();
            file.append("; echo ").append(form);
        }
        file.append('\n');
        long first = pid(daemonPid);
        String built = build(file.toString());
        assertThat(built).as("the forms the guard allows, built").contains("moby.image.id").doesNotContain("errorDetail");
        assertThat(running(first)).as("the daemon after the allowed forms").isTrue();

        for (String form : List.of("${PATH#${PATH%%*}}", "${PATH%}")) {
            String one = "FROM " + base + "\nARG P=x\nRUN echo " + form + "\n";
            assertThat(CanonicalDockerfile.write(DockerfileParser.parse(one), true).problems()).as(one)
                    .anySatisfy(p -> assertThat(p.message()).contains("crashes"));
            long before = pid(daemonPid);
            build(one);
            eventually("the daemon ended by " + form, Duration.ofSeconds(30), () -> !running(before));
            eventually("the daemon started again after " + form, Duration.ofSeconds(60),
                    () -> answers() && pid(daemonPid) > 0 && pid(daemonPid) != before);
        }
        String log = Files.readString(DockerdKeeperIT.log);
        assertThat(log).as("the daemon's own log: a BuildKit panic ended it").contains("panic:");
        assertThat(log).contains("keep-dockerd: the daemon exited with status 2; starting it again in 1 s");
    }

    /** Sends a Dockerfile (the body BuildKit's remote context reads as one) to the daemon; its answer. */
    private static String build(String dockerfile) throws IOException {
        Path file = dir.resolve("Dockerfile");
        Files.writeString(file, dockerfile);
        return runAnyExit("curl", "-sS", "-m", "120", "--noproxy", "*", "--unix-socket", socket.toString(), "-X",
                "POST", "-H", "Content-Type: application/x-tar", "--data-binary", "@" + file,
                "http://localhost/build?version=2&networkmode=none&nocache=1&pull=0");
    }

    private static boolean answers() {
        return runAnyExit("curl", "-sf", "-m", "5", "--noproxy", "*", "--unix-socket", socket.toString(), "http://localhost/_ping")
                .startsWith("OK");
    }

    /** Whether the process runs (a zombie its parent has not reaped yet has ended). */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    private static long pid(Path file) {
        try {
            return Files.exists(file) ? Long.parseLong(Files.readString(file).strip()) : -1;
        } catch (IOException | NumberFormatException e) {
            return -1; // being written
        }
    }

    private static void eventually(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout + ": " + what);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private static String runAnyExit(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(90, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
