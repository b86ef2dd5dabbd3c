package io.buildgateway.scanning;

import com.github.packageurl.MalformedPackageURLException;
import com.github.packageurl.PackageURL;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packages an image holds, read from its package databases (dpkg, apk) and language manifests (jar
 * {@code pom.properties} and manifests, {@code node_modules/…/package.json}, Python {@code METADATA}). Pure parsing.
 */
final class Packages {

    private Packages() {
    }

    /**
     * One package. {@code ecosystem} is OSV's name ({@code Debian:12}, {@code Alpine:v3.19}, {@code Maven},
     * {@code npm}, {@code PyPI}); {@code sourceName} is the source package for distributions (what their advisories
     * name), else null.
     */
    record Package(String type, String ecosystem, String name, String version, String sourceName, String purl,
            String location) {
        /** The name OSV advisories use for this package. */
        String advisoryName() {
            return sourceName != null ? sourceName : name;
        }
    }

    /** The distribution, from os-release: id and version id ({@code debian}, {@code 12}). */
    record Distro(String id, String versionId, String prettyName) {
        String osvEcosystem() {
            return switch (id) {
                case "debian" -> versionId == null ? "Debian" : "Debian:" + versionId;
                case "ubuntu" -> versionId == null ? "Ubuntu" : "Ubuntu:" + versionId;
                case "alpine" -> {
                    if (versionId == null) {
                        yield "Alpine";
                    }
                    String[] parts = versionId.split("\\.");
                    yield "Alpine:v" + parts[0] + (parts.length > 1 ? "." + parts[1] : "");
                }
                default -> id;
            };
        }
    }

    static Distro distro(Map<String, byte[]> files) {
        byte[] os = files.containsKey("/etc/os-release") ? files.get("/etc/os-release") : files.get("/usr/lib/os-release");
        if (os == null) {
            return null;
        }
        Map<String, String> v = new LinkedHashMap<>();
        for (String line : new String(os, StandardCharsets.UTF_8).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                String value = line.substring(eq + 1).trim();
                if (value.length() >= 2 && (value.startsWith("\"") || value.startsWith("'"))) {
                    value = value.substring(1, value.length() - 1);
                }
                v.put(line.substring(0, eq).trim(), value);
            }
        }
        return v.containsKey("ID") ? new Distro(v.get("ID"), v.get("VERSION_ID"), v.get("PRETTY_NAME")) : null;
    }

    /** Every package of the image from the kept files and the archives already read. */
    static List<Package> all(Map<String, byte[]> files, List<Package> javaPackages) {
        Distro distro = distro(files);
        List<Package> out = new ArrayList<>();
        files.forEach((path, content) -> {
            if (path.equals("/var/lib/dpkg/status") || path.startsWith("/var/lib/dpkg/status.d/")) {
                out.addAll(dpkg(new String(content, StandardCharsets.UTF_8), distro, path));
            } else if (path.equals("/lib/apk/db/installed")) {
                out.addAll(apk(new String(content, StandardCharsets.UTF_8), distro, path));
            } else if (path.endsWith("/package.json") && path.contains("/node_modules/")) {
                Package p = npm(content, path);
                if (p != null) {
                    out.add(p);
                }
            } else if (path.endsWith(".dist-info/METADATA") || path.contains(".egg-info")) {
                Package p = python(new String(content, StandardCharsets.UTF_8), path);
                if (p != null) {
                    out.add(p);
                }
            }
        });
        // A lock file names what an install would put in node_modules; where node_modules is in the image too, the
        // installed manifests already gave those packages.
        java.util.Set<String> npmSeen = new java.util.HashSet<>();
        out.stream().filter(p -> p.type().equals("npm")).forEach(p -> npmSeen.add(p.name() + "@" + p.version()));
        files.forEach((path, content) -> {
            if (path.endsWith("/package-lock.json") && !path.contains("/node_modules/")) {
                for (Package p : npmLock(content, path)) {
                    if (npmSeen.add(p.name() + "@" + p.version())) {
                        out.add(p);
                    }
                }
            }
        });
        out.addAll(javaPackages);
        return out;
    }

    /**
     * The packages a {@code package-lock.json} pins: lockfile v2/v3 {@code packages} (keys
     * {@code node_modules/<name>}, nested too; links skipped), or v1's nested {@code dependencies}.
     */
    static List<Package> npmLock(byte[] lock, String location) {
        List<Package> out = new ArrayList<>();
        try {
            JsonNode root = JSON.readTree(lock);
            JsonNode packages = root.path("packages");
            if (packages.isObject()) {
                for (var e : packages.properties()) {
                    String key = e.getKey();
                    int at = key.lastIndexOf("node_modules/");
                    if (at < 0 || e.getValue().path("link").asBoolean(false)) {
                        continue;
                    }
                    addNpm(out, key.substring(at + "node_modules/".length()), e.getValue().path("version"), location);
                }
            } else {
                lockV1(root.path("dependencies"), location, out, 0);
            }
        } catch (RuntimeException e) {
            // a broken lock file names no package
        }
        return out;
    }

    private static void lockV1(JsonNode dependencies, String location, List<Package> out, int depth) {
        if (!dependencies.isObject() || depth > 64) {
            return;
        }
        for (var e : dependencies.properties()) {
            addNpm(out, e.getKey(), e.getValue().path("version"), location);
            lockV1(e.getValue().path("dependencies"), location, out, depth + 1);
        }
    }

    private static void addNpm(List<Package> out, String name, JsonNode version, String location) {
        String v = version.isString() ? version.asString() : null;
        if (v == null || v.contains(":") || name.isEmpty()) {
            return; // file:, git:, http: specs are not registry versions
        }
        Package p = npm(JSON.writeValueAsBytes(java.util.Map.of("name", name, "version", v)), location);
        if (p != null) {
            out.add(p);
        }
    }

    /** dpkg's status file (or a status.d fragment): installed paragraphs only. */
    static List<Package> dpkg(String status, Distro distro, String location) {
        List<Package> out = new ArrayList<>();
        String ecosystem = distro == null ? "Debian" : distro.osvEcosystem();
        String namespace = distro == null ? "debian" : distro.id();
        for (Map<String, String> p : paragraphs(status)) {
            String name = p.get("Package");
            String version = p.get("Version");
            String state = p.getOrDefault("Status", "install ok installed");
            if (name == null || version == null || name.isEmpty() || version.isEmpty()
                    || !state.endsWith(" installed")) {
                continue; // an empty field names no package (found by PackageDatabaseFuzzTest)
            }
            String source = p.get("Source");
            if (source != null) {
                int space = source.indexOf(' ');
                source = space > 0 ? source.substring(0, space) : source;
            }
            Map<String, String> q = new TreeMap<>();
            if (p.get("Architecture") != null) {
                q.put("arch", p.get("Architecture"));
            }
            if (distro != null && distro.versionId() != null) {
                q.put("distro", distro.id() + "-" + distro.versionId());
            }
            out.add(new Package("deb", ecosystem, name, version, source == null ? name : source,
                    purl("deb", namespace, name, version, q), location));
        }
        return out;
    }

    /** apk's installed database: {@code P:} name, {@code V:} version, {@code o:} origin (the source package). */
    static List<Package> apk(String installed, Distro distro, String location) {
        List<Package> out = new ArrayList<>();
        String ecosystem = distro == null ? "Alpine" : distro.osvEcosystem();
        for (String block : installed.split("\n\n")) {
            Map<String, String> f = new LinkedHashMap<>();
            for (String line : block.split("\n")) {
                if (line.length() > 2 && line.charAt(1) == ':') {
                    f.putIfAbsent(line.substring(0, 1), line.substring(2));
                }
            }
            if (f.get("P") == null || f.get("V") == null) {
                continue;
            }
            Map<String, String> q = new TreeMap<>();
            if (f.get("A") != null) {
                q.put("arch", f.get("A"));
            }
            if (distro != null && distro.versionId() != null) {
                q.put("distro", distro.versionId());
            }
            out.add(new Package("apk", ecosystem, f.get("P"), f.get("V"), f.getOrDefault("o", f.get("P")),
                    purl("apk", "alpine", f.get("P"), f.get("V"), q), location));
        }
        return out;
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    static Package npm(byte[] packageJson, String location) {
        try {
            JsonNode node = JSON.readTree(packageJson);
            String name = node.path("name").asString(null);
            String version = node.path("version").asString(null);
            if (name == null || version == null || name.isBlank() || version.isBlank()) {
                return null; // as dpkg and Python: an empty name or version names no package (fuzzing)
            }
            String namespace = null;
            String simple = name;
            if (name.startsWith("@") && name.contains("/")) {
                namespace = name.substring(0, name.indexOf('/'));
                simple = name.substring(name.indexOf('/') + 1);
            }
            return new Package("npm", "npm", name, version, null, purl("npm", namespace, simple, version, Map.of()),
                    location);
        } catch (RuntimeException e) {
            return null; // a broken manifest names no package
        }
    }

    static Package python(String metadata, String location) {
        String name = null;
        String version = null;
        for (String line : metadata.split("\n")) {
            if (line.isBlank()) {
                break; // headers end at the first empty line
            }
            if (line.startsWith("Name:")) {
                name = line.substring(5).trim();
            } else if (line.startsWith("Version:")) {
                version = line.substring(8).trim();
            }
        }
        if (name == null || version == null || name.isEmpty() || version.isEmpty()) {
            return null; // an empty header names no package (found by PackageDatabaseFuzzTest)
        }
        String normalised = name.toLowerCase(java.util.Locale.ROOT).replaceAll("[-_.]+", "-");
        return new Package("pypi", "PyPI", normalised, version, null, purl("pypi", null, normalised, version, Map.of()),
                location);
    }

    /**
     * The Maven coordinates in a jar/war/ear: every {@code META-INF/maven/…/pom.properties} (a shaded jar holds
     * several), and the jars nested in it (Spring Boot's {@code BOOT-INF/lib}, a war's {@code WEB-INF/lib}), as deep
     * as the budget's {@code max-nesting} allows (a deeper one stops the scan). Falls back to the manifest's title and
     * version when there is no pom.properties. Every pom.properties and manifest is read within the budget's
     * metadata limits.
     */
    static List<Package> fromArchive(String location, InputStream in, ScanBudget budget) throws IOException {
        return fromArchive(location, in, budget, 0);
    }

    /** Without limits (the parsers' own tests). */
    static List<Package> fromArchive(String location, InputStream in) throws IOException {
        return fromArchive(location, in, ScanBudget.unlimited(), 0);
    }

    private static List<Package> fromArchive(String location, InputStream in, ScanBudget budget, int depth)
            throws IOException {
        List<Package> out = new ArrayList<>();
        Map<String, String> manifest = null;
        ZipArchiveInputStream zip = new JarStream(in);
        ZipArchiveEntry e;
        try {
            while ((e = zip.getNextEntry()) != null) {
                String name = e.getName();
                if (name.startsWith("META-INF/maven/") && name.endsWith("/pom.properties")) {
                    Properties p = new Properties();
                    p.load(new java.io.ByteArrayInputStream(budget.metadata(location + "!/" + name, e.getSize(),
                            zip)));
                    String g = p.getProperty("groupId");
                    String a = p.getProperty("artifactId");
                    String v = p.getProperty("version");
                    if (g != null && a != null && v != null) {
                        out.add(new Package("maven", "Maven", g + ":" + a, v, null,
                                purl("maven", g, a, v, Map.of()), location));
                    }
                } else if (name.equals("META-INF/MANIFEST.MF")) {
                    manifest = manifest(new String(budget.metadata(location + "!/" + name, e.getSize(), zip),
                            StandardCharsets.UTF_8));
                } else if (ARCHIVE_ENTRY.matcher(name).matches() && !e.isDirectory()) {
                    budget.nested(location + "!/" + name, depth + 1);
                    out.addAll(fromArchive(location + "!/" + name, zip, budget, depth + 1));
                }
            }
        } catch (ScanBudget.Exceeded over) {
            throw over;
        } catch (IOException | RuntimeException broken) {
            budget.check(); // a read the budget stopped (or the deadline) is not a broken jar
            // A jar the streaming reader cannot follow (stored entries with data descriptors): keep what was read.
        }
        if (out.isEmpty() && manifest != null) {
            String title = manifest.getOrDefault("Implementation-Title", manifest.get("Bundle-SymbolicName"));
            String version = manifest.getOrDefault("Implementation-Version", manifest.get("Bundle-Version"));
            if (title != null && version != null) {
                out.add(new Package("maven", "Maven", title, version, null, null, location));
            }
        }
        return out;
    }

    /**
     * The streaming zip reader, without zstd. commons-compress reads a zstd-compressed entry (method 93) only with the
     * zstd-jni library, which the gateway does not ship: without it, opening such an entry threw NoClassDefFoundError,
     * an Error that escaped the scan (found by fuzzing). A jar has no reason to use it; such an entry is now an
     * IOException, and the jar keeps what was read before it.
     */
    private static final class JarStream extends ZipArchiveInputStream {
        JarStream(InputStream in) {
            super(in, "UTF-8", true, true);
        }

        @Override
        protected InputStream createZstdInputStream(InputStream in) throws IOException {
            throw new IOException("a zstd-compressed zip entry: not read");
        }
    }

    /** Archives inside an archive that are read for their coordinates ((?s): an entry's name may hold a line break). */
    private static final java.util.regex.Pattern ARCHIVE_ENTRY = java.util.regex.Pattern.compile("(?s).*\\.jar");

    private static Map<String, String> manifest(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : text.replace("\r", "").replace("\n ", "").split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                out.putIfAbsent(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return out;
    }

    /** RFC 822-style paragraphs with continuation lines, as dpkg writes them. */
    static List<Map<String, String>> paragraphs(String text) {
        List<Map<String, String>> out = new ArrayList<>();
        Map<String, String> current = new LinkedHashMap<>();
        String last = null;
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                if (!current.isEmpty()) {
                    out.add(current);
                    current = new LinkedHashMap<>();
                }
                last = null;
            } else if ((line.charAt(0) == ' ' || line.charAt(0) == '\t') && last != null) {
                current.merge(last, "\n" + line.trim(), String::concat);
            } else {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    last = line.substring(0, colon);
                    current.put(last, line.substring(colon + 1).trim());
                }
            }
        }
        if (!current.isEmpty()) {
            out.add(current);
        }
        return out;
    }

    static String purl(String type, String namespace, String name, String version, Map<String, String> qualifiers) {
        try {
            String purl = new PackageURL(type, namespace, name, version, qualifiers.isEmpty() ? null
                    : new TreeMap<>(qualifiers), null).canonicalize();
            // packageurl-java escapes a byte below 0x10 as one hex digit ("%0" for NUL), which its own parser then
            // refuses, and a non-ASCII byte sign-extended ("%FFFFEF"), which reads back as other characters. Such a
            // purl would make the SBOM unreadable or name another version, so the package has none (found by
            // PackageDatabaseFuzzTest: control and non-ASCII characters in pom.properties, dpkg and Python fields).
            PackageURL back = new PackageURL(purl);
            if (!java.util.Objects.equals(back.getVersion(), version) || !back.canonicalize().equals(purl)) {
                return null;
            }
            return purl;
        } catch (MalformedPackageURLException e) {
            return null;
        }
    }
}
