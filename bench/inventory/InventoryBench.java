package io.buildgateway.inventory;

import com.zaxxer.hikari.HikariDataSource;
import io.buildgateway.auth.GatewayPrincipal;
import io.buildgateway.auth.Role;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import java.util.Collection;
import java.nio.charset.StandardCharsets;
import javax.sql.DataSource;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The inventory's questions, timed through the gateway's own classes (ImageQueries, Deployments, Rebuilds) on a
 * JdbcClient over a Hikari pool, as the application runs them: the same SQL, the same per-row follow-up statements,
 * the same version comparisons in Java. The DataSource is wrapped to count the statements each question sends and to
 * keep, per distinct statement, the parameters of its slowest execution; those are then run again under
 * EXPLAIN (ANALYZE, BUFFERS) and printed. Baseline, measured in the same run: a primary-key lookup (Inventory.find).
 *   java -cp target/classes:<deps>:<out> io.buildgateway.inventory.InventoryBench jdbc:postgresql://host:port/db
 */
public final class InventoryBench {

    private static final double TARGET_MS = 100;
    private static final double REBUILD_TARGET_MS = 2000;
    /** GET /api/v1/deployments serves 100 by default, at most 1,000. */
    private static final int PAGE = 100;
    private static final int WALK = 1000;
    private static final long BUDGET_NANOS = 90_000_000_000L; // per question; at least 3 runs are made regardless

    /** One execution's worth of statements, kept per distinct SQL text. */
    static final class Stmt {
        long count;
        long slowestNanos = -1;
        Object[] slowestParams;
    }

    private static final Map<String, Stmt> statements = new LinkedHashMap<>();
    private static long executed;

    public static void main(String[] args) throws Exception {
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(args[0]);
        pool.setUsername("postgres");
        pool.setMaximumPoolSize(4);
        JdbcClient db = JdbcClient.create(counting(pool));
        ImageQueries images = new ImageQueries(db);
        Deployments deployments = new Deployments(db, e -> { }, Clock.systemUTC());
        Rebuilds rebuilds = new Rebuilds(db, images, null, e -> { }, null, Clock.systemUTC());
        Inventory inventory = new Inventory(db, e -> { });
        GatewayPrincipal security = new GatewayPrincipal(null, "bench", Set.of(Role.SECURITY), Set.of());
        JdbcClient raw = JdbcClient.create(pool);

        // Parameters, picked from the data so that they span popular, middling, rare and absent.
        List<String> digests = raw.sql("select digest from image where provenance = 'gateway' and build_id is not null"
                + " order by md5(digest) limit 200").query(String.class).list();
        List<String> packages = raw.sql("""
                select name from bench.pkg where rank in (3, 40, 90, 130, 260, 390, 420, 700, 1300, 1990)
                union all select source from bench.src where rank in (1, 86, 1201) order by 1""")
                .query(String.class).list();
        List<Map<String, String>> packageQueries = new ArrayList<>();
        for (String p : packages) {
            String mid = raw.sql("""
                    select min(version) from image_package where build_id = (select min(p2.build_id::text)::uuid
                      from image_package p2 where p2.name = ? or p2.advisory_name = ?) and (name = ? or advisory_name = ?)""")
                    .params(p, p, p, p).query(String.class).optional().orElse("1.20-2");
            for (String below : List.of("0.1", mid, "99")) {
                packageQueries.add(Map.of("package", p, "below", below));
            }
        }
        // CVEs by how many images they hit: the most common, quantiles, the rarest, one no image has, and advisory ids.
        List<String> cves = raw.sql("""
                with hits as (select advisory_id, count(*) n from image_vulnerability group by advisory_id),
                ranked as (select advisory_id, n, ntile(20) over (order by n desc, advisory_id) t,
                                  row_number() over (order by n desc, advisory_id) k from hits)
                select coalesce(a.cve, r.advisory_id) from ranked r left join bench.adv a on a.id = r.advisory_id
                  and r.advisory_id not like 'DSA-%'
                where k = 1 or r.advisory_id in (select min(advisory_id) from ranked group by t)
                order by r.n desc, r.advisory_id""").query(String.class).list();
        List<String> cveQueries = new ArrayList<>(cves);
        cveQueries.add(raw.sql("select min(cve) from bench.adv where g = 0").query(String.class).single());
        cveQueries.add(raw.sql("select min(id) from bench.adv where id like 'DSA-%' and g = gmax")
                .query(String.class).single());
        String widest = raw.sql("select bench.base_digest(0, 0)").query(String.class).single();
        List<String> baseQueries = new ArrayList<>(raw.sql("""
                select bench.base_digest(b, e) from generate_series(0, 39, 3) b cross join generate_series(0, 3) e
                where (b + e) % 3 = 0 union all select ref from bench.base where b in (0, 7, 21)""")
                .query(String.class).list());
        baseQueries.add(0, widest);
        List<String> teams = raw.sql("select distinct team from image where team is not null order by 1 limit 3")
                .query(String.class).list();
        List<Object[]> staleQueries = new ArrayList<>();
        for (String env : Arrays.asList(null, "prod", "staging", "dev", "qa")) {
            staleQueries.add(new Object[] {env, null});
            staleQueries.add(new Object[] {env, Set.of(teams.get(0))});
            staleQueries.add(new Object[] {env, Set.of(teams.get(1), teams.get(2))});
        }
        long widestCount = raw.sql("select count(*) from image where base_digest = ?").param(widest)
                .query(Long.class).single();

        System.out.printf(Locale.ROOT, "%nwarm-up: every question once ...%n");
        for (Map<String, String> q : wanted("images by package below") ? packageQueries : List.<Map<String, String>>of()) {
            images.list(filter(null, q.get("package"), q.get("below"), null, null), security, 51, null);
        }
        for (String p : wanted("images by package (any") ? packages : List.<String>of()) {
            images.list(filter(null, p, null, null, null), security, 51, null);
        }
        for (String cve : wanted("images by CVE") ? cveQueries : List.<String>of()) {
            images.list(filter(null, null, null, cve, null), security, 51, null);
        }
        for (String base : wanted("images by base") ? baseQueries : List.<String>of()) {
            images.list(filter(null, null, null, null, base), security, 51, null);
        }
        StaleLister stale = StaleLister.of(deployments);
        for (Object[] q : wanted("stale deployments") ? staleQueries : List.<Object[]>of()) {
            stale.page((String) q[0], cast(q[1]), PAGE);
        }
        if (wanted("rebuild dry-run")) {
            rebuilds.resolve(new Rebuilds.Selector(widest, null, null, null, null, null));
        }

        Map<String, Result> results = new LinkedHashMap<>();
        results.put("primary-key lookup (baseline)", time(digests.size(), i -> () -> inventory.find(digests.get(i))));
        double baseline = results.get("primary-key lookup (baseline)").p(50);
        measure(results, "images by package below version", () -> time(packageQueries.size(), i -> () -> images.list(
                filter(null, packageQueries.get(i).get("package"), packageQueries.get(i).get("below"), null, null),
                security, 51, null)));
        measure(results, "images by package (any version)", () -> time(packages.size(), i -> () -> images.list(
                filter(null, packages.get(i), null, null, null), security, 51, null)));
        measure(results, "images by CVE", () -> time(cveQueries.size(), i -> () -> images.list(
                filter(null, null, null, cveQueries.get(i), null), security, 51, null)));
        measure(results, "images by base digest (or ref)", () -> time(baseQueries.size(), i -> () -> images.list(
                filter(null, null, null, null, baseQueries.get(i)), security, 51, null)));
        measure(results, "stale deployments, a page of " + PAGE, () -> time(staleQueries.size(), i -> () -> stale.page(
                (String) staleQueries.get(i)[0], cast(staleQueries.get(i)[1]), PAGE)));
        measure(results, "stale deployments, all (pages of " + WALK + ")", () -> time(staleQueries.size(), i -> () -> stale.all(
                (String) staleQueries.get(i)[0], cast(staleQueries.get(i)[1]))));
        measure(results, "rebuild dry-run, " + widestCount + " images", () -> time(5, i -> () -> rebuilds.resolve(
                new Rebuilds.Selector(widest, null, null, null, null, null))));

        System.out.printf(Locale.ROOT, "%n%-36s %5s %9s %9s %9s %9s %8s %7s %7s  %s%n", "question", "runs", "p50 ms",
                "p95 ms", "max ms", "stmts/run", "rows/run", "p95/tgt", "p50/pk", "results");
        for (Map.Entry<String, Result> e : results.entrySet()) {
            Result r = e.getValue();
            double target = e.getKey().startsWith("rebuild") ? REBUILD_TARGET_MS : TARGET_MS;
            // (the whole stale list has no target of its own: the API serves it a page at a time)
            System.out.printf(Locale.ROOT, "%-36s %5d %9.2f %9.2f %9.2f %9.0f %8.0f %7.2f %7.0f  %08x%s%n",
                    e.getKey(), r.millis.length, r.p(50), r.p(95), r.p(100), r.statements, r.rows, r.p(95) / target,
                    r.p(50) / baseline, r.fingerprint, r.capped ? "  (time budget reached)" : "");
        }
        System.out.printf(Locale.ROOT, "targets: p95 < %.0f ms per question, dry-run < %.0f ms; p50/pk is the ratio "
                + "to the primary-key lookup's p50 (%.3f ms); results is a CRC of every run's answer (equal between runs "
                + "on the same data means the same answers)%n", TARGET_MS, REBUILD_TARGET_MS, baseline);

        System.out.printf(Locale.ROOT, "%n== plans: every distinct statement, with the parameters of its slowest run ==%n");
        for (Map.Entry<String, Result> e : results.entrySet()) {
            System.out.printf(Locale.ROOT, "%n### %s%n", e.getKey());
            for (Map.Entry<String, Stmt> s : e.getValue().sqls().entrySet()) {
                Stmt st = s.getValue();
                System.out.printf(Locale.ROOT, "%n-- sent %d times (%.1f per run), slowest %.2f ms, parameters %s%n%s%n",
                        st.count, st.count / (double) e.getValue().millis.length, st.slowestNanos / 1e6,
                        shortParams(st.slowestParams), s.getKey().strip());
                explain(pool, s.getKey(), st.slowestParams).forEach(l -> System.out.println("   " + l));
            }
        }
        pool.close();
    }

    /**
     * The stale-deployment list through whichever Deployments the classpath has: this build's pages
     * ({@code list(Query, after, limit)}) or, with BENCH_CLASSES of a build before paging, its one list of everything
     * ({@code list(environment, staleOnly, current, teams)}), cut to the same page. Both answer lists of the same View
     * record, so their CRCs compare. Reflection, because the bench is compiled against this build only.
     */
    interface StaleLister {
        List<?> page(String environment, Set<String> teams, int limit);

        List<?> all(String environment, Set<String> teams);

        static StaleLister of(Deployments d) throws ReflectiveOperationException {
            java.lang.reflect.Method old = java.util.Arrays.stream(Deployments.class.getDeclaredMethods())
                    .filter(m -> m.getName().equals("list") && m.getParameterCount() == 4).findFirst().orElse(null);
            if (old != null) { // (the Query class of this build may be on the classpath behind the old build's)
                old.setAccessible(true);
                return new StaleLister() {
                    public List<?> page(String environment, Set<String> teams, int limit) {
                        List<?> all = all(environment, teams);
                        return List.copyOf(all.subList(0, Math.min(limit, all.size())));
                    }

                    public List<?> all(String environment, Set<String> teams) {
                        return (List<?>) call(old, d, environment, true, true, teams);
                    }
                };
            }
            Class<?> query = Class.forName("io.buildgateway.inventory.Deployments$Query");
            java.lang.reflect.Constructor<?> newQuery = query.getDeclaredConstructor(String.class, String.class,
                    boolean.class, Set.class);
            newQuery.setAccessible(true);
            java.lang.reflect.Method list = Deployments.class.getDeclaredMethod("list", query, java.util.UUID.class,
                    int.class);
            list.setAccessible(true);
            Class<?> page = Class.forName("io.buildgateway.inventory.Deployments$Page");
            java.lang.reflect.Method items = page.getDeclaredMethod("items");
            java.lang.reflect.Method more = page.getDeclaredMethod("more");
            items.setAccessible(true);
            more.setAccessible(true);
            java.lang.reflect.Method id = Class.forName("io.buildgateway.inventory.Deployments$View")
                    .getDeclaredMethod("id");
            id.setAccessible(true);
            return new StaleLister() {
                public List<?> page(String environment, Set<String> teams, int limit) {
                    return (List<?>) call(items, call(list, d, q(environment, teams), null, limit));
                }

                public List<?> all(String environment, Set<String> teams) {
                    List<Object> out = new ArrayList<>();
                    Object p = call(list, d, q(environment, teams), null, WALK);
                    out.addAll((List<?>) call(items, p));
                    while ((Boolean) call(more, p)) {
                        p = call(list, d, q(environment, teams), call(id, out.get(out.size() - 1)), WALK);
                        out.addAll((List<?>) call(items, p));
                    }
                    return out;
                }

                private Object q(String environment, Set<String> teams) {
                    try {
                        return newQuery.newInstance(environment, null, true, teams);
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                }
            };
        }

        private static Object call(java.lang.reflect.Method m, Object target, Object... args) {
            try {
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** BENCH_ONLY=<text>: only the questions whose name contains it (and the baseline). */
    private static final String ONLY = System.getenv("BENCH_ONLY");

    private static boolean wanted(String question) {
        return ONLY == null || ONLY.isBlank() || question.contains(ONLY);
    }

    private static void measure(Map<String, Result> results, String question, Supplier<Result> run) {
        if (wanted(question)) {
            results.put(question, run.get());
        }
    }

    record Result(double[] millis, double statements, double rows, long fingerprint, boolean capped,
            Map<String, Stmt> sqls) {
        double p(int percentile) {
            double[] s = millis.clone();
            Arrays.sort(s);
            int idx = (int) Math.ceil(percentile / 100.0 * s.length) - 1;
            return s[Math.max(0, Math.min(s.length - 1, idx))];
        }
    }

    interface Run {
        Supplier<Object> at(int i);
    }

    private static Result time(int n, Run run) {
        statements.clear();
        long before = executed;
        List<Double> millis = new ArrayList<>();
        long rows = 0;
        CRC32 crc = new CRC32();
        long start = System.nanoTime();
        boolean capped = false;
        for (int i = 0; i < n; i++) {
            if (i >= 3 && System.nanoTime() - start > BUDGET_NANOS) {
                capped = true;
                break;
            }
            long t = System.nanoTime();
            Object answer = run.at(i).get();
            millis.add((System.nanoTime() - t) / 1e6);
            rows += answer instanceof Collection<?> c ? c.size() : answer instanceof Optional<?> o && o.isPresent() ? 1 : 0;
            crc.update(canonical(answer).getBytes(StandardCharsets.UTF_8));
        }
        double[] m = millis.stream().mapToDouble(Double::doubleValue).toArray();
        return new Result(m, (executed - before) / (double) m.length, rows / (double) m.length, crc.getValue(), capped,
                new LinkedHashMap<>(statements));
    }

    /** A stable text of an answer: maps (some are Map.of, whose order varies between JVMs) sorted by key. */
    private static String canonical(Object o) {
        if (o instanceof Map<?, ?> m) {
            TreeMap<String, String> sorted = new TreeMap<>();
            m.forEach((k, v) -> sorted.put(String.valueOf(k), canonical(v)));
            return sorted.toString();
        }
        if (o instanceof Collection<?> c) {
            return c.stream().map(InventoryBench::canonical).toList().toString();
        }
        if (o instanceof Optional<?> opt) {
            return opt.map(InventoryBench::canonical).orElse("empty");
        }
        if (o instanceof Record r) {
            List<String> parts = new ArrayList<>();
            for (var c : r.getClass().getRecordComponents()) {
                try {
                    c.getAccessor().setAccessible(true);
                    parts.add(c.getName() + "=" + canonical(c.getAccessor().invoke(r)));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
            return r.getClass().getSimpleName() + parts;
        }
        return String.valueOf(o);
    }

    private static ImageQueries.Filter filter(String team, String pkg, String below, String cve, String base) {
        return new ImageQueries.Filter(team, pkg, below, cve, base, false);
    }

    @SuppressWarnings("unchecked")
    private static Set<String> cast(Object o) {
        return (Set<String>) o;
    }

    private static List<String> explain(DataSource ds, String sql, Object[] params) {
        List<String> out = new ArrayList<>();
        try (Connection c = ds.getConnection();
                PreparedStatement ps = c.prepareStatement("explain (analyze, buffers) " + sql)) {
            for (int i = 1; params != null && i < params.length; i++) {
                ps.setObject(i, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        } catch (Exception e) {
            out.add("(explain failed: " + e.getMessage() + ")");
        }
        return out;
    }

    private static String shortParams(Object[] params) {
        if (params == null) {
            return "[]";
        }
        List<String> out = new ArrayList<>();
        for (int i = 1; i < params.length; i++) {
            Object p = params[i];
            String s = p instanceof Object[] a ? Arrays.toString(a) : String.valueOf(p);
            out.add(s.length() > 80 ? s.substring(0, 77) + "..." : s);
        }
        return out.toString();
    }

    // --- a DataSource that records what is sent ---------------------------------------------------------------------

    private static DataSource counting(DataSource target) {
        return proxy(DataSource.class, (p, m, a) -> {
            Object r = invoke(target, m, a);
            return m.getName().equals("getConnection") ? connection((Connection) r) : r;
        });
    }

    private static Connection connection(Connection c) {
        return proxy(Connection.class, (p, m, a) -> {
            Object r = invoke(c, m, a);
            if (m.getName().equals("prepareStatement") || m.getName().equals("prepareCall")) {
                return statement(PreparedStatement.class, (Statement) r, (String) a[0]);
            }
            if (m.getName().equals("createStatement")) {
                return statement(Statement.class, (Statement) r, null);
            }
            return r;
        });
    }

    private static <T extends Statement> T statement(Class<T> type, Statement s, String prepared) {
        TreeMap<Integer, Object> params = new TreeMap<>();
        return proxy(type, (p, m, a) -> {
            String name = m.getName();
            if (name.startsWith("set") && a != null && a.length >= 2 && a[0] instanceof Integer i) {
                params.put(i, name.equals("setNull") ? null : a[1]);
            } else if (name.equals("clearParameters")) {
                params.clear();
            }
            if (!name.startsWith("execute")) {
                return invoke(s, m, a);
            }
            String sql = prepared != null ? prepared : (String) a[0];
            long t = System.nanoTime();
            Object r = invoke(s, m, a);
            long took = System.nanoTime() - t;
            synchronized (statements) {
                executed++;
                Stmt st = statements.computeIfAbsent(sql, k -> new Stmt());
                st.count++;
                if (took > st.slowestNanos) {
                    st.slowestNanos = took;
                    Object[] values = new Object[params.isEmpty() ? 1 : params.lastKey() + 1];
                    params.forEach((k, v) -> values[k] = v);
                    st.slowestParams = values;
                }
            }
            return r;
        });
    }

    @SuppressWarnings("unchecked")
    private static <T> T proxy(Class<T> type, InvocationHandler h) {
        return (T) Proxy.newProxyInstance(InventoryBench.class.getClassLoader(), new Class<?>[] {type}, h);
    }

    private static Object invoke(Object target, java.lang.reflect.Method m, Object[] a) throws Throwable {
        try {
            return m.invoke(target, a);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
