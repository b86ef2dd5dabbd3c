// bench/load.sh's client (issue #17, "Load"): N concurrent clients on loopback spread over the gateway replicas
// (LOAD_BASES, comma-separated: client i talks to replica i mod n), run with the JDK's source launcher
// (java -cp postgresql.jar LoadClient.java). Bounded everywhere: every loop ends by count or by the run's deadline.
// Prints the table of docs/benchmarks.md ("Load"); lost and run twice are read from the database (LOAD_JDBC_URL, as
// the owner) and the audit trail, and the exit status is 1 when either is not 0.
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class LoadClient {
    static final List<String> BASES = List.of(env("LOAD_BASES", env("LOAD_BASE", "")).split(","));
    static final String BASE = BASES.get(0);
    static final String JDBC = System.getenv("LOAD_JDBC_URL");
    static final String ADMIN = System.getenv("LOAD_ADMIN");
    static final String REGISTRY = System.getenv("LOAD_REGISTRY");
    /** Run by bench/chaos.sh: faults are made on purpose (see the lost line). */
    static final boolean FAULTS = "1".equals(System.getenv("LOAD_FAULTS"));
    static final int CLIENTS = Integer.parseInt(env("LOAD_CLIENTS", "200"));
    static final int BUILDS = Integer.parseInt(env("LOAD_BUILDS", "30"));
    static final int QUOTA = Integer.parseInt(env("LOAD_TEAM_QUOTA", "20"));
    static final Duration DEADLINE = Duration.ofSeconds(Long.parseLong(env("LOAD_DEADLINE_SECONDS", "600")));
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    /**
     * The teams' names: LOAD_TEAM_PREFIX + "flood" and + "quiet". bench/load.sh's warm pass (LOAD_WARM_BUILDS) uses
     * a prefix of its own, so the measured pass's table counts only its own teams' builds.
     */
    static final String FLOOD = env("LOAD_TEAM_PREFIX", "") + "flood";
    static final String QUIET = env("LOAD_TEAM_PREFIX", "") + "quiet";
    static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "REJECTED", "CANCELLED");

    static final List<Long> submitNanos = Collections.synchronizedList(new ArrayList<>());
    static final List<Long> statusNanos = Collections.synchronizedList(new ArrayList<>());
    /** The 429s' times: a refusal is an answer too, and the submission gate orders refusals after acceptances. */
    static final List<Long> refusedNanos = Collections.synchronizedList(new ArrayList<>());
    static final Map<String, String> accepted = new ConcurrentHashMap<>(); // id -> team
    static final Map<String, String> finalStatus = new ConcurrentHashMap<>();
    static final AtomicInteger tooMany = new AtomicInteger();
    static final AtomicInteger tooManyWithRetryAfter = new AtomicInteger();
    static final AtomicInteger submitErrors = new AtomicInteger();
    static final AtomicInteger unavailable = new AtomicInteger();
    static final AtomicInteger statusErrors = new AtomicInteger();
    static final AtomicInteger followed = new AtomicInteger();

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    public static void main(String[] args) throws Exception {
        long end = System.nanoTime() + DEADLINE.toNanos();
        int submitters = Math.min(BUILDS, CLIENTS);
        // One token per client: the per-caller limits (log follows) are per token, as for real CI jobs.
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            String team = i == submitters - 1 ? QUIET : FLOOD;
            tokens.add(token("load-" + i, team));
        }
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            int n = i;
            String token = tokens.get(i);
            String base = BASES.get(i % BASES.size());
            all.add(pool.submit(() -> {
                go.await();
                if (n < submitters) {
                    String team = n == submitters - 1 ? QUIET : FLOOD;
                    if (team.equals(QUIET)) {
                        Thread.sleep(2000); // the neighbour's one build arrives once the flood is queued
                    }
                    // The quiet client submits one build (the last number); each flood client submits its share
                    // of the others one after another (builds n, n + floodClients, …), so LOAD_BUILDS may exceed
                    // LOAD_CLIENTS.
                    int floodClients = Math.max(1, submitters - 1);
                    int first = team.equals(QUIET) ? BUILDS - 1 : n;
                    int last = team.equals(QUIET) ? BUILDS - 1 : BUILDS - 2;
                    for (int k = first; k <= last && System.nanoTime() < end; k += floodClients) {
                        String id = submitUntilAccepted(base, token, team, k, end);
                        if (id == null) {
                            break;
                        }
                        follow(base, token, id, end);
                        awaitFinal(base, token, id, end);
                    }
                } else {
                    watch(base, token, end);
                }
                return null;
            }));
        }
        long[] xactsBefore = transactions();
        long started = System.nanoTime();
        go.countDown();
        for (Future<?> f : all) {
            f.get();
        }
        pool.shutdown();
        long[] xactsAfter = transactions();
        long seconds = Math.max(1, (System.nanoTime() - started) / 1_000_000_000L);
        xactLine = xactsBefore == null || xactsAfter == null ? "-" : String.format("%d (%.0f per build, %d/s); rows"
                + " written %d (%.0f per build)", xactsAfter[0] - xactsBefore[0], (xactsAfter[0] - xactsBefore[0])
                / (double) Math.max(1, accepted.size()), (xactsAfter[0] - xactsBefore[0]) / seconds,
                xactsAfter[1] - xactsBefore[1], (xactsAfter[1] - xactsBefore[1]) / (double) Math.max(1,
                accepted.size()));
        System.exit(report() ? 0 : 1);
    }

    static String xactLine = "-";

    /**
     * The database's committed and rolled-back transactions and rows written (inserted, updated, deleted) so far,
     * from pg_stat_database (every replica, the bench's own reads included; a backend reports within a second or so,
     * hence the pause); null when it cannot be read.
     */
    static long[] transactions() {
        try (Connection c = DriverManager.getConnection(JDBC, "postgres", ""); Statement st = c.createStatement()) {
            Thread.sleep(1500);
            try (ResultSet rs = st.executeQuery("select sum(xact_commit + xact_rollback)::bigint,"
                    + " sum(tup_inserted + tup_updated + tup_deleted)::bigint from pg_stat_database")) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        } catch (Exception e) {
            System.err.println("pg_stat_database: " + e);
            return null;
        }
    }

    static String token(String name, String team) throws Exception {
        String body = "{\"name\":\"" + name + "-" + UUID.randomUUID().toString().substring(0, 6)
                + "\",\"roles\":[\"BUILDER\"],\"teams\":[\"" + team + "\"]}";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(BASE + "/api/v1/tokens"))
                .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"token\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
        if (r.statusCode() != 201 || !m.find()) {
            throw new IllegalStateException("token: " + r.statusCode() + " " + r.body());
        }
        return m.group(1);
    }

    /** Submits; on 429 waits Retry-After (counted) and tries again, until accepted or the deadline. */
    static String submitUntilAccepted(String base, String token, String team, int n, long end) throws Exception {
        byte[] tar = tar("FROM " + REGISTRY + "/base/busybox\nRUN echo load-" + n + "\nUSER 65534\n");
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            HttpResponse<String> r;
            try {
                r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/builds?image=" + team + "/load&tag=t"
                        + n)).header("Authorization", "Bearer " + token).header("Content-Type", "application/x-tar")
                        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(tar)).build(),
                        HttpResponse.BodyHandlers.ofString());
            } catch (java.io.IOException e) {
                submitErrors.incrementAndGet();
                Thread.sleep(1000);
                continue;
            }
            long took = System.nanoTime() - t0;
            if (r.statusCode() == 202) {
                submitNanos.add(took);
                Matcher m = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
                m.find();
                accepted.put(m.group(1), team);
                return m.group(1);
            }
            if (r.statusCode() == 503) {
                // The gateway's back-pressure (database pool exhausted or the database away): retry as told.
                unavailable.incrementAndGet();
                long wait = r.headers().firstValue("Retry-After").map(Long::parseLong).orElse(5L);
                Thread.sleep(Math.max(1, wait) * 1000);
                continue;
            }
            if (r.statusCode() == 429) {
                refusedNanos.add(took);
                tooMany.incrementAndGet();
                long wait = r.headers().firstValue("Retry-After").map(Long::parseLong).orElse(-1L);
                if (wait >= 0) {
                    tooManyWithRetryAfter.incrementAndGet();
                }
                Thread.sleep(Math.max(1, wait) * 1000);
                continue;
            }
            submitErrors.incrementAndGet();
            System.err.println("submit " + n + ": " + r.statusCode() + " " + r.body());
            return null;
        }
        return null;
    }

    static void follow(String base, String token, String id, long end) {
        try {
            HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/builds/" + id
                    + "/logs?follow=true")).header("Authorization", "Bearer " + token)
                    .timeout(Duration.ofNanos(Math.max(1, end - System.nanoTime()))).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
            }
            if (r.statusCode() == 200) {
                followed.incrementAndGet();
            }
        } catch (Exception e) {
            // the status poll below decides what happened to the build
        }
    }

    static String status(String base, String token, String id) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/builds/" + id))
                .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        statusNanos.add(System.nanoTime() - t0);
        if (r.statusCode() != 200) {
            statusErrors.incrementAndGet();
            return null;
        }
        Matcher m = Pattern.compile("\"status\"\\s*:\\s*\"([A-Z]+)\"").matcher(r.body());
        return m.find() ? m.group(1) : null;
    }

    static void awaitFinal(String base, String token, String id, long end) throws Exception {
        while (System.nanoTime() < end) {
            String s = status(base, token, id);
            if (s != null && FINAL.contains(s)) {
                finalStatus.put(id, s);
                return;
            }
            Thread.sleep(500);
        }
    }

    /** A client that only reads: the status of builds of its team, every 250 ms, until every build is final. */
    static void watch(String base, String token, long end) throws Exception {
        Random random = new Random();
        Thread.sleep(3000);
        while (System.nanoTime() < end && (accepted.isEmpty() || finalStatus.size() < accepted.size())) {
            List<String> ids = accepted.entrySet().stream().filter(e -> e.getValue().equals(FLOOD))
                    .map(Map.Entry::getKey).toList();
            if (!ids.isEmpty()) {
                status(base, token, ids.get(random.nextInt(ids.size())));
            }
            Thread.sleep(250);
        }
    }

    /** How many builds of {@code team} started after build {@code id} was queued and before it started. */
    static long overtakenBy(String id, String team) throws Exception {
        return queryLong("select count(*) from audit_event s join build b on s.target = 'build/' || b.id::text"
                + " where s.action = 'build.started' and b.team = ?"
                + " and s.at > (select min(at) from audit_event where action = 'build.queued' and target = ?)"
                + " and s.at < (select min(at) from audit_event where action = 'build.started' and target = ?)",
                team, "build/" + id, "build/" + id);
    }

    /**
     * The longest run (ms, start to end) of the builds that held a slot when the build {@code id} was submitted, or -1
     * when none did: "waits no longer than one build slot" taken literally. A build that takes the next free slot
     * waits at most until the first of them ends, so never longer than this.
     */
    static long longestRunningAt(String id) throws Exception {
        return queryLong("select coalesce(max((extract(epoch from coalesce(b.finished_at, clock_timestamp())"
                + " - b.started_at) * 1000)::bigint), -1) from build b, build q where q.id = ?::uuid and b.id <> q.id"
                + " and b.started_at <= q.requested_at and (b.finished_at is null or b.finished_at > q.requested_at)",
                id);
    }

    /** One number from the database, as the owner. */
    static long queryLong(String sql, String... params) throws Exception {
        try (Connection c = DriverManager.getConnection(JDBC, "postgres", "");
                java.sql.PreparedStatement st = c.prepareStatement(sql)) {
            for (int k = 0; k < params.length; k++) {
                st.setString(k + 1, params[k]);
            }
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    /**
     * The table; true when nothing was lost, nothing ran twice (read from the database and the audit trail) and, in
     * a run without faults, the quiet team's build had its fair share.
     */
    static boolean report() throws Exception {
        Map<String, String[]> rows = new HashMap<>(); // id -> team, status, failure_reason, host, lapsed
        Map<String, Long> waitMillis = new HashMap<>();
        List<Long> runMillis = new ArrayList<>();
        Map<String, Integer> starts = new HashMap<>();
        Map<String, Integer> successes = new HashMap<>();
        Map<String, Integer> requeues = new HashMap<>();
        Map<String, Integer> provenances = new HashMap<>();
        Map<String, Integer> perReplica = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(JDBC, "postgres", ""); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("select id::text, team, status, coalesce(failure_reason, ''),"
                    + " coalesce(host, '-'), status = 'RUNNING' and lease_expires_at < clock_timestamp(),"
                    + " (extract(epoch from started_at - requested_at) * 1000)::bigint,"
                    + " (extract(epoch from finished_at - started_at) * 1000)::bigint from build")) {
                while (rs.next()) {
                    String id = rs.getString(1);
                    if (!rs.getString(2).equals(FLOOD) && !rs.getString(2).equals(QUIET)) {
                        continue; // another pass's builds (the warm pass): not this table's
                    }
                    rows.put(id, new String[] {rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                        Boolean.toString(rs.getBoolean(6))});
                    long w = rs.getLong(7);
                    if (!rs.wasNull()) {
                        waitMillis.put(id, w);
                    }
                    long run = rs.getLong(8);
                    if (!rs.wasNull() && "SUCCEEDED".equals(rs.getString(3))) {
                        runMillis.add(run);
                    }
                }
            }
            try (ResultSet rs = st.executeQuery("select substr(target, 7), action, count(*) from audit_event"
                    + " where action in ('build.started', 'build.succeeded', 'build.requeued')"
                    + " and target like 'build/%' group by 1, 2")) {
                while (rs.next()) {
                    Map<String, Integer> m = switch (rs.getString(2)) {
                        case "build.started" -> starts;
                        case "build.succeeded" -> successes;
                        default -> requeues;
                    };
                    m.put(rs.getString(1), rs.getInt(3));
                }
            }
            try (ResultSet rs = st.executeQuery("select build_id::text, count(*) from image_provenance group by 1")) {
                while (rs.next()) {
                    provenances.put(rs.getString(1), rs.getInt(2));
                }
            }
            try (ResultSet rs = st.executeQuery("select coalesce(substring(details from '\"replica\":\"(load-[a-z])'),"
                    + " '?'), count(*) from audit_event where action = 'build.started' and substr(target, 7) in (select id::text"
                    + " from build where team in ('" + FLOOD + "', '" + QUIET + "')) group by 1")) {
                while (rs.next()) {
                    perReplica.put(rs.getString(1), rs.getInt(2));
                }
            }
        }
        Set<String> ids = new TreeSet<>(accepted.keySet());
        ids.addAll(rows.keySet());
        long missing = accepted.keySet().stream().filter(id -> !rows.containsKey(id)).count();
        long unknownToClient = rows.keySet().stream().filter(id -> !accepted.containsKey(id)).count();
        long lostRun = rows.values().stream().filter(r -> r[1].equals("FAILED") && r[2].contains(" lost")).count();
        long lapsed = rows.values().stream().filter(r -> r[4].equals("true")).count();
        // Under bench/chaos.sh (LOAD_FAULTS=1) a build FAILED "host lost" / "replica lost" is what a fault the bench
        // made was decided as, with its reason: shown on its own line, not as lost. In a plain load run it is lost.
        long lost = missing + (FAULTS ? 0 : lostRun) + lapsed;
        // A re-queued build starts once more, by design (at most once: attempts <= 2); more than that is twice.
        long twice = ids.stream().filter(id -> starts.getOrDefault(id, 0) > 1 + requeues.getOrDefault(id, 0)
                || successes.getOrDefault(id, 0) > 1 || provenances.getOrDefault(id, 0) > 1).count();
        long requeued = requeues.values().stream().mapToLong(Integer::longValue).sum();
        Map<String, Long> byStatus = new TreeMap<>();
        Map<String, Long> byHost = new TreeMap<>();
        for (String[] r : rows.values()) {
            byStatus.merge(r[1], 1L, Long::sum);
            if (!r[3].equals("-")) {
                byHost.merge(r[3], 1L, Long::sum);
            }
        }
        long succeeded = byStatus.getOrDefault("SUCCEEDED", 0L);
        long unfinished = byStatus.getOrDefault("QUEUED", 0L) + byStatus.getOrDefault("RUNNING", 0L) - lapsed;
        long failed = rows.size() - succeeded - unfinished - lapsed;
        Collections.sort(runMillis);
        long slot = runMillis.isEmpty() ? -1 : runMillis.get(runMillis.size() / 2);

        String f = "%-50s %s%n";
        System.out.printf(f, "clients / builds asked / replicas", CLIENTS + " / " + BUILDS + " / " + BASES.size());
        System.out.printf(f, "builds submitted (202 to a client)", accepted.size());
        System.out.printf(f, "succeeded", succeeded);
        System.out.printf(f, "failed (FAILED, REJECTED, CANCELLED)", failed + "   " + byStatus);
        System.out.printf(f, "unfinished at the deadline (QUEUED/RUNNING)", unfinished);
        if (FAULTS) {
            System.out.printf(f, "lost (db: no row, lapsed lease)", lost + " (" + missing + ", " + lapsed + ")"
                    + (lost == 0 ? "" : "   <-- must be 0"));
            System.out.printf(f, "FAILED 'host lost'/'replica lost' (chaos: decided)", lostRun);
        } else {
            System.out.printf(f, "lost (db: no row, 'lost' failure, lapsed lease)", lost + " (" + missing + ", "
                    + lostRun + ", " + lapsed + ")" + (lost == 0 ? "" : "   <-- must be 0"));
        }
        System.out.printf(f, "run twice (audit: started > 1 + re-queued, succeeded > 1, 2 signed)", twice
                + (twice == 0 ? "" : "   <-- must be 0"));
        System.out.printf(f, "re-queued (build.requeued) / rows no client saw", requeued + " / " + unknownToClient);
        System.out.printf(f, "submit p50 / p99 ms (upload 2 KiB; target 200)", pct(submitNanos, 200));
        System.out.printf(f, "status p50 / p99 ms (target 50)", pct(statusNanos, 50));
        for (String team : List.of(FLOOD, QUIET)) {
            List<Long> w = rows.entrySet().stream().filter(e -> e.getValue()[0].equals(team))
                    .map(e -> waitMillis.get(e.getKey())).filter(Objects::nonNull).sorted().toList();
            System.out.printf(f, "queue wait " + team + " ms (median / max, n)", w.isEmpty() ? "-"
                    : w.get(w.size() / 2) + " / " + w.get(w.size() - 1) + ", " + w.size());
        }
        String quietId = rows.entrySet().stream().filter(e -> e.getValue()[0].equals(QUIET))
                .filter(e -> waitMillis.get(e.getKey()) != null).map(Map.Entry::getKey).findFirst().orElse(null);
        Long quiet = quietId == null ? null : waitMillis.get(quietId);
        // Fair share is "the quiet build takes the next free slot": no flood build starts between its queueing (its
        // build.queued event, written in the transaction that makes it visible) and its start. Its wait against the
        // median slot alone misjudges a quiet build queued while the first, cold builds of the run hold every slot.
        // And literally: its wait against the longest run of the builds that held the slots when it came (it can
        // wait for one of them to end, never for more); with no slot held, against the median run.
        long overtaken = quietId == null ? -1 : overtakenBy(quietId, FLOOD);
        long slotThen = quietId == null ? -1 : longestRunningAt(quietId);
        long bound = slotThen >= 0 ? slotThen : slot;
        boolean fair = quiet != null && overtaken == 0 && quiet <= bound;
        System.out.printf(f, "one build slot (median run of a build, ms)", slot < 0 ? "-" : slot + "; quiet waited "
                + (quiet == null ? "-" : quiet + ", flood builds started meanwhile " + overtaken
                        + ", longest run holding a slot when it came " + (slotThen < 0 ? "- (a slot was free)"
                        : slotThen) + (fair ? ": met" : ": NOT met")));
        System.out.printf(f, "429 at the team quota (" + QUOTA + ")", tooMany.get() + " (with Retry-After: "
                + tooManyWithRetryAfter.get() + ")");
        System.out.printf(f, "429 p50 / p99 ms (no target)", pct(refusedNanos, -1));
        System.out.printf(f, "503 with Retry-After (retried)", unavailable.get());
        System.out.printf(f, "other submit errors / status errors", submitErrors.get() + " / " + statusErrors.get());
        System.out.printf(f, "logs followed to the end", followed.get());
        System.out.printf(f, "db transactions during the run (pg_stat_database)", xactLine);
        System.out.printf(f, "builds per host", byHost);
        System.out.printf(f, "builds started per replica", perReplica);
        for (int i = 0; i < BASES.size(); i++) {
            System.out.printf(f, "replica " + (char) ('a' + i) + " heap used / live threads at the end", gauges(BASES
                    .get(i)));
        }
        boolean ok = lost == 0 && twice == 0 && (FAULTS || fair);
        System.out.println(ok ? "RESULT ok" : lost == 0 && twice == 0 ? "RESULT NOT-FAIR" : "RESULT LOST-OR-TWICE");
        return ok;
    }

    static String gauges(String base) {
        try {
            HttpResponse<String> prom = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/actuator/prometheus"))
                    .header("Authorization", "Bearer " + ADMIN).timeout(Duration.ofSeconds(60)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            double heap = 0;
            double threads = 0;
            for (String line : prom.body().split("\n")) {
                if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                    heap += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith("jvm_threads_live_threads")) {
                    threads = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return String.format("%.0f MiB / %.0f", heap / 1048576, threads);
        } catch (Exception e) {
            return "unreadable: " + e;
        }
    }

    static String pct(List<Long> nanos, long targetMillis) {
        if (nanos.isEmpty()) {
            return "-";
        }
        List<Long> s = new ArrayList<>(nanos);
        Collections.sort(s);
        double p99 = s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1)) / 1e6;
        return String.format("%.1f / %.1f (n=%d)%s", s.get(s.size() / 2) / 1e6, p99, s.size(),
                targetMillis < 0 ? "" : p99 < targetMillis ? ": met" : ": NOT met");
    }

    /** A ustar archive with one file, Dockerfile. */
    static byte[] tar(String dockerfile) {
        byte[] content = dockerfile.getBytes(StandardCharsets.UTF_8);
        byte[] header = new byte[512];
        put(header, 0, "Dockerfile");
        put(header, 100, "0000644\0");
        put(header, 108, "0000000\0");
        put(header, 116, "0000000\0");
        put(header, 124, String.format("%011o\0", content.length));
        put(header, 136, "00000000000\0");
        Arrays.fill(header, 148, 156, (byte) ' ');
        header[156] = '0';
        put(header, 257, "ustar\0");
        put(header, 263, "00");
        int sum = 0;
        for (byte b : header) {
            sum += b & 0xff;
        }
        put(header, 148, String.format("%06o\0 ", sum));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header);
        out.writeBytes(content);
        out.writeBytes(new byte[(512 - content.length % 512) % 512]);
        out.writeBytes(new byte[1024]);
        return out.toByteArray();
    }

    static void put(byte[] b, int at, String s) {
        byte[] v = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(v, 0, b, at, v.length);
    }
}
