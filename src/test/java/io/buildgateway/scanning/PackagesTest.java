package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

class PackagesTest {

    private static final Packages.Distro DEBIAN = new Packages.Distro("debian", "12", "Debian GNU/Linux 12");

    @Test
    void dpkgStatusGivesInstalledPackagesWithTheirSourceAndPurl() {
        String status = """
                Package: libc6
                Status: install ok installed
                Architecture: amd64
                Source: glibc (2.36-9+deb12u4)
                Version: 2.36-9+deb12u4
                Description: GNU C Library: Shared libraries
                 Contains the standard libraries.
                 .
                 More text.

                Package: removed-thing
                Status: deinstall ok config-files
                Version: 1.0

                Package: bash
                Status: install ok installed
                Architecture: amd64
                Version: 5.2.15-2+b2
                """;
        List<Packages.Package> p = Packages.dpkg(status, DEBIAN, "/var/lib/dpkg/status");
        assertThat(p).extracting(Packages.Package::name).containsExactly("libc6", "bash");
        assertThat(p.get(0).sourceName()).isEqualTo("glibc");
        assertThat(p.get(0).advisoryName()).isEqualTo("glibc");
        assertThat(p.get(0).ecosystem()).isEqualTo("Debian:12");
        assertThat(p.get(0).purl()).isEqualTo("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12");
        assertThat(p.get(1).advisoryName()).isEqualTo("bash");
    }

    @Test
    void apkInstalledGivesPackagesWithOrigin() {
        String installed = "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\nP:musl\nV:1.2.4-r2\nA:x86_64\n";
        Packages.Distro alpine = new Packages.Distro("alpine", "3.19.1", "Alpine");
        List<Packages.Package> p = Packages.apk(installed, alpine, "/lib/apk/db/installed");
        assertThat(p).extracting(Packages.Package::name).containsExactly("libcrypto3", "musl");
        assertThat(p.get(0).advisoryName()).isEqualTo("openssl");
        assertThat(p.get(0).ecosystem()).isEqualTo("Alpine:v3.19");
        assertThat(p.get(0).purl()).startsWith("pkg:apk/alpine/libcrypto3@3.1.4-r5");
    }

    @Test
    void osReleaseNamesTheDistribution() {
        Packages.Distro d = Packages.distro(Map.of("/usr/lib/os-release",
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"
                        .getBytes(StandardCharsets.UTF_8)));
        assertThat(d).isEqualTo(new Packages.Distro("debian", "12", "Debian GNU/Linux 12 (bookworm)"));
        assertThat(d.osvEcosystem()).isEqualTo("Debian:12");
        assertThat(Packages.distro(Map.of())).isNull();
    }

    @Test
    void pythonAndNpmManifests() {
        Packages.Package py = Packages.python("Metadata-Version: 2.1\nName: Requests_OAuthlib\nVersion: 1.3.1\n\n"
                + "Name: not-a-header\n", "/usr/lib/python3/dist-packages/requests_oauthlib-1.3.1.dist-info/METADATA");
        assertThat(py.name()).isEqualTo("requests-oauthlib");
        assertThat(py.ecosystem()).isEqualTo("PyPI");
        assertThat(py.purl()).isEqualTo("pkg:pypi/requests-oauthlib@1.3.1");
        Packages.Package npm = Packages.npm("{\"name\":\"@babel/core\",\"version\":\"7.24.0\"}"
                .getBytes(StandardCharsets.UTF_8), "/app/node_modules/@babel/core/package.json");
        assertThat(npm.name()).isEqualTo("@babel/core");
        assertThat(npm.purl()).isEqualTo("pkg:npm/%40babel/core@7.24.0");
        assertThat(Packages.npm("{broken".getBytes(StandardCharsets.UTF_8), "/x/package.json")).isNull();
    }

    @Test
    void npmLockFilesAddWhatNodeModulesDoesNotAlreadyShow() {
        String v3 = """
                {"lockfileVersion":3,"packages":{"":{"name":"app"},
                 "node_modules/left-pad":{"version":"1.3.0"},
                 "node_modules/@babel/core":{"version":"7.24.0"},
                 "node_modules/a/node_modules/b":{"version":"2.0.0"},
                 "node_modules/local":{"link":true},
                 "node_modules/gitdep":{"version":"git+ssh://x"}}}
                """;
        assertThat(Packages.npmLock(v3.getBytes(StandardCharsets.UTF_8), "/app/package-lock.json"))
                .extracting(p -> p.name() + "@" + p.version())
                .containsExactly("left-pad@1.3.0", "@babel/core@7.24.0", "b@2.0.0");
        String v1 = "{\"lockfileVersion\":1,\"dependencies\":{\"x\":{\"version\":\"1.0.0\","
                + "\"dependencies\":{\"y\":{\"version\":\"0.1.0\"}}}}}";
        assertThat(Packages.npmLock(v1.getBytes(StandardCharsets.UTF_8), "/l")).extracting(Packages.Package::name)
                .containsExactly("x", "y");
        List<Packages.Package> all = Packages.all(Map.of(
                "/app/node_modules/left-pad/package.json",
                "{\"name\":\"left-pad\",\"version\":\"1.3.0\"}".getBytes(StandardCharsets.UTF_8),
                "/app/package-lock.json", v3.getBytes(StandardCharsets.UTF_8)), List.of());
        assertThat(all).extracting(Packages.Package::name).containsOnlyOnce("left-pad");
    }

    @Test
    void jarsGiveMavenCoordinatesIncludingNestedJars() throws Exception {
        byte[] inner = jar(Map.of("META-INF/maven/org.yaml/snakeyaml/pom.properties",
                "groupId=org.yaml\nartifactId=snakeyaml\nversion=2.2\n"));
        byte[] outer = jar(Map.of("META-INF/maven/com.acme/app/pom.properties",
                "groupId=com.acme\nartifactId=app\nversion=1.0.0\n"), "BOOT-INF/lib/snakeyaml-2.2.jar", inner);
        List<Packages.Package> p = Packages.fromArchive("/app/app.jar", new ByteArrayInputStream(outer));
        assertThat(p).extracting(Packages.Package::purl)
                .containsExactlyInAnyOrder("pkg:maven/com.acme/app@1.0.0", "pkg:maven/org.yaml/snakeyaml@2.2");
        assertThat(p).extracting(Packages.Package::name).contains("org.yaml:snakeyaml");
    }

    @Test
    void aJarWithOnlyAManifestIsNamedByIt() throws Exception {
        byte[] jar = jar(Map.of("META-INF/MANIFEST.MF",
                "Manifest-Version: 1.0\r\nImplementation-Title: legacy-lib\r\nImplementation-Version: 3.1\r\n"));
        assertThat(Packages.fromArchive("/x.jar", new ByteArrayInputStream(jar)))
                .extracting(Packages.Package::name, Packages.Package::version)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("legacy-lib", "3.1"));
    }

    @Test
    void anEmptyNpmVersionNamesNoPackage() {
        byte[] lock = ("{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\": {\"version\": \"1.2.3\"},"
                + " \"node_modules/b\": {\"version\": \"\"}, \"node_modules/c\": {\"version\": \" \"}}}")
                .getBytes(StandardCharsets.UTF_8);
        assertThat(Packages.npmLock(lock, "/app/package-lock.json")).extracting(Packages.Package::name)
                .containsExactly("a");
        assertThat(Packages.npm("{\"name\": \"x\", \"version\": \"\"}".getBytes(StandardCharsets.UTF_8),
                "/app/node_modules/x/package.json")).isNull();
        assertThat(Packages.npm("{\"name\": \"\", \"version\": \"1\"}".getBytes(StandardCharsets.UTF_8),
                "/app/node_modules/x/package.json")).isNull();
    }

    @Test
    void aBrokenArchiveYieldsNothingRatherThanFailing() throws Exception {
        assertThat(Packages.fromArchive("/x.jar", new ByteArrayInputStream("not a zip".getBytes()))).isEmpty();
    }

    /**
     * A jar whose second entry says it is zstd-compressed (method 93), which commons-compress reads only with a
     * native library the gateway does not ship: it was a NoClassDefFoundError out of the scan (fuzzing). Now the jar
     * keeps what was read before that entry.
     */
    @Test
    void aZstdEntryEndsTheReadingWithoutAnError() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (String name : new String[] {"META-INF/maven/com.acme/lib/pom.properties", "payload.bin"}) {
                byte[] text = (name.endsWith(".properties") ? "groupId=com.acme\nartifactId=lib\nversion=1.2\n"
                        : "zstd?").getBytes(StandardCharsets.UTF_8);
                ZipEntry e = new ZipEntry(name);
                e.setMethod(ZipEntry.STORED);
                e.setSize(text.length);
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                crc.update(text);
                e.setCrc(crc.getValue());
                zip.putNextEntry(e);
                zip.write(text);
                zip.closeEntry();
            }
        }
        byte[] jar = out.toByteArray();
        // The second local header's compression method (offset 8 of "PK\3\4") becomes 93, zstd.
        int second = -1;
        for (int i = 4; i < jar.length - 4 && second < 0; i++) {
            if (jar[i] == 'P' && jar[i + 1] == 'K' && jar[i + 2] == 3 && jar[i + 3] == 4) {
                second = i;
            }
        }
        assertThat(second).isPositive();
        jar[second + 8] = 93;
        jar[second + 9] = 0;
        assertThat(Packages.fromArchive("/x.jar", new ByteArrayInputStream(jar)))
                .extracting(Packages.Package::name, Packages.Package::version)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("com.acme:lib", "1.2"));
    }

    static byte[] jar(Map<String, String> texts, Object... binaries) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, String> e : texts.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
            for (int i = 0; i < binaries.length; i += 2) {
                zip.putNextEntry(new ZipEntry((String) binaries[i]));
                zip.write((byte[]) binaries[i + 1]);
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    // Found by PackageDatabaseFuzzTest (seeds odd-fields, pkg-info): an empty Package/Version or Name/Version field
    // made a package with an empty name or version in the SBOM.
    @Test
    void emptyFieldsNameNoPackage() {
        assertThat(Packages.dpkg("Package:\nVersion: 1\nStatus: install ok installed\n\nPackage: a\nVersion:\n",
                DEBIAN, "/var/lib/dpkg/status")).isEmpty();
        assertThat(Packages.python("Name:   \nVersion: 1\n", "/x/PKG-INFO")).isNull();
        assertThat(Packages.python("Name: a\nVersion:\n", "/x/PKG-INFO")).isNull();
        assertThat(Packages.dpkg("Package: a\nVersion: 1\n", DEBIAN, "/var/lib/dpkg/status")).hasSize(1);
    }

    // Found by PackageDatabaseFuzzTest (crash-965c6425…): a version with control characters got a purl that does not
    // parse ("pkg:maven/org.y/y@3%0n2…"); such a package is listed without a purl.
    @Test
    void aPurlThatWouldNotParseIsLeftOut() throws Exception {
        assertThat(Packages.purl("maven", "org.y", "y", "3\u0000n2", java.util.Map.of())).isNull();
        // crash-b5411e4c…, crash-6b770e7f…: a non-ASCII character was escaped as "%FFFFEF…" and read back as another
        assertThat(Packages.purl("deb", "debian", "a", "\uFFFD2.3~rc1-4", java.util.Map.of())).isNull();
        assertThat(Packages.purl("pypi", null, "a", "2\u00e931.0", java.util.Map.of())).isNull();
        String plain = Packages.purl("maven", "org.y", "y", "3 n2", java.util.Map.of());
        assertThat(new com.github.packageurl.PackageURL(plain).getVersion()).isEqualTo("3 n2");
    }
}
