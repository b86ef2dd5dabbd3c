// bench/load.sh's client (issue #17, "Load"): N concurrent clients on loopback against one gateway, run with the
// JDK's source launcher (java LoadClient.java), no dependencies. Bounded everywhere: every loop ends by count or by
// the run's deadline. Prints the table of docs/benchmarks.md ("Load").
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class LoadClient {
    static final String BASE = System.getenv("LOAD_BASE");
    static final String ADMIN = System.getenv("LOAD_ADMIN");
    static final String REGISTRY = System.getenv("LOAD_REGISTRY");
    static final int CLIENTS = Integer.parseInt(env("LOAD_CLIENTS", "200"));
    static final int BUILDS = Integer.parseInt(env("LOAD_BUILDS", "30"));
    static final int QUOTA = Integer.parseInt(env("LOAD_TEAM_QUOTA", "20"));
    static final Duration DEADLINE = Duration.ofSeconds(Long.parseLong(env("LOAD_DEADLINE_SECONDS", "600")));
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "REJECTED", "CANCELLED");

    static final List<Long> submitNanos = Collections.synchronizedList(new ArrayList<>());
    static final List<Long> statusNanos = Collections.synchronizedList(new ArrayList<>());
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
        Instant started = Instant.now();
        int submitters = Math.min(BUILDS, CLIENTS);
        // One token per client: the per-caller limits (log follows) are per token, as for real CI jobs.
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            String team = i == submitters - 1 ? "quiet" : "flood";
            tokens.add(token("load-" + i, team));
        }
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < CLIENTS; i++) {
            int n = i;
            String token = tokens.get(i);
            all.add(pool.submit(() -> {
                go.await();
                if (n < submitters) {
                    String team = n == submitters - 1 ? "quiet" : "flood";
                    if (team.equals("quiet")) {
                        Thread.sleep(2000); // the neighbour's one build arrives once the flood is queued
                    }
                    String id = submitUntilAccepted(token, team, n, end);
                    if (id != null) {
                        follow(token, id, end);
                        awaitFinal(token, id, end);
                    }
                } else {
                    watch(token, end);
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : all) {
            f.get();
        }
        pool.shutdown();
        report(started);
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
    static String submitUntilAccepted(String token, String team, int n, long end) throws Exception {
        byte[] tar = tar("FROM " + REGISTRY + "/base/busybox\nRUN echo load-" + n + "\nUSER 65534\n");
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            HttpResponse<String> r;
            try {
                r = HTTP.send(HttpRequest.newBuilder(URI.create(BASE + "/api/v1/builds?image=" + team + "/load&tag=t"
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

    static void follow(String token, String id, long end) {
        try {
            HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(URI.create(BASE + "/api/v1/builds/" + id
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

    static String status(String token, String id) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(BASE + "/api/v1/builds/" + id))
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

    static void awaitFinal(String token, String id, long end) throws Exception {
        while (System.nanoTime() < end) {
            String s = status(token, id);
            if (s != null && FINAL.contains(s)) {
                finalStatus.put(id, s);
                return;
            }
            Thread.sleep(500);
        }
    }

    /** A client that only reads: the status of builds of its team, every 250 ms, until every build is final. */
    static void watch(String token, long end) throws Exception {
        Random random = new Random();
        Thread.sleep(3000);
        while (System.nanoTime() < end && (accepted.isEmpty() || finalStatus.size() < accepted.size())) {
            List<String> ids = accepted.entrySet().stream().filter(e -> e.getValue().equals("flood"))
                    .map(Map.Entry::getKey).toList();
            if (!ids.isEmpty()) {
                status(token, ids.get(random.nextInt(ids.size())));
            }
            Thread.sleep(250);
        }
    }

    static void report(Instant started) throws Exception {
        Map<String, Integer> starts = new HashMap<>();
        Map<String, Long> waited = new HashMap<>();
        String cursor = null;
        do {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(BASE
                    + "/api/v1/audit?action=build.started&order=asc&limit=500&since=" + started.minusSeconds(5)
                    + (cursor == null ? "" : "&cursor=" + cursor))).header("Authorization", "Bearer " + ADMIN)
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
            Matcher m = Pattern.compile("\"target\"\\s*:\\s*\"build/([0-9a-f-]+)\"[^}]*?\"waitedMillis\"\\s*:\\s*(\\d+)")
                    .matcher(r.body());
            while (m.find()) {
                starts.merge(m.group(1), 1, Integer::sum);
                waited.put(m.group(1), Long.parseLong(m.group(2)));
            }
            Matcher next = Pattern.compile("\"next\"\\s*:\\s*\"([^\"]+)\"").matcher(r.body());
            cursor = next.find() ? next.group(1) : null;
        } while (cursor != null);
        // Not final by the deadline: still QUEUED or RUNNING (a slow machine) is unfinished; anything else (gone,
        // unreadable) is lost.
        long unfinished = 0;
        long lost = 0;
        for (String id : accepted.keySet()) {
            if (finalStatus.containsKey(id)) {
                continue;
            }
            String s = status(ADMIN, id);
            if ("QUEUED".equals(s) || "RUNNING".equals(s)) {
                unfinished++;
            } else if (s != null && FINAL.contains(s)) {
                finalStatus.put(id, s);
            } else {
                lost++;
            }
        }
        long succeeded = finalStatus.values().stream().filter("SUCCEEDED"::equals).count();
        long failed = finalStatus.values().stream().filter(v -> !v.equals("SUCCEEDED")).count();
        long twice = starts.values().stream().filter(c -> c > 1).count();
        System.out.printf("%-44s %s%n", "clients / builds asked", CLIENTS + " / " + BUILDS);
        System.out.printf("%-44s %d%n", "builds submitted (202)", accepted.size());
        System.out.printf("%-44s %d%n", "succeeded", succeeded);
        System.out.printf("%-44s %d%n", "failed (any other final status)", failed);
        System.out.printf("%-44s %d%n", "unfinished at the deadline (QUEUED/RUNNING)", unfinished);
        System.out.printf("%-44s %d%s%n", "lost (accepted, then gone)", lost, lost == 0 ? "" : "   <-- must be 0");
        System.out.printf("%-44s %d%s%n", "run twice (build.started > 1)", twice, twice == 0 ? "" : "   <-- must be 0");
        System.out.printf("%-44s %s%n", "submit p50 / p99 (ms, upload ~300 B)", pct(submitNanos));
        System.out.printf("%-44s %s%n", "status p50 / p99 (ms)", pct(statusNanos));
        for (String team : List.of("flood", "quiet")) {
            List<Long> w = accepted.entrySet().stream().filter(e -> e.getValue().equals(team))
                    .map(e -> waited.get(e.getKey())).filter(Objects::nonNull).sorted().toList();
            System.out.printf("%-44s %s%n", "queue wait " + team + " (ms: median / max, n)", w.isEmpty() ? "-"
                    : w.get(w.size() / 2) + " / " + w.get(w.size() - 1) + ", " + w.size());
        }
        System.out.printf("%-44s %d (with Retry-After: %d)%n", "429 at the team quota (" + QUOTA + ")", tooMany.get(),
                tooManyWithRetryAfter.get());
        System.out.printf("%-44s %d%n", "503 with Retry-After (retried)", unavailable.get());
        System.out.printf("%-44s %d / %d%n", "other submit errors / status errors", submitErrors.get(),
                statusErrors.get());
        System.out.printf("%-44s %d%n", "logs followed to the end", followed.get());
        HttpResponse<String> prom = HTTP.send(HttpRequest.newBuilder(URI.create(BASE + "/actuator/prometheus"))
                .header("Authorization", "Bearer " + ADMIN).GET().build(), HttpResponse.BodyHandlers.ofString());
        double heap = 0;
        double threads = 0;
        for (String line : prom.body().split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                heap += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            } else if (line.startsWith("jvm_threads_live_threads")) {
                threads = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        System.out.printf("%-44s %.0f MiB / %.0f%n", "gateway heap used / live threads at the end", heap / 1048576,
                threads);
        System.out.println(lost == 0 && twice == 0 ? "RESULT ok" : "RESULT LOST-OR-TWICE");
    }

    static String pct(List<Long> nanos) {
        if (nanos.isEmpty()) {
            return "-";
        }
        List<Long> s = new ArrayList<>(nanos);
        Collections.sort(s);
        return String.format("%.1f / %.1f (n=%d)", s.get(s.size() / 2) / 1e6,
                s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1)) / 1e6, s.size());
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
