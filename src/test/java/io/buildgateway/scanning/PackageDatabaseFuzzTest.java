package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.github.packageurl.MalformedPackageURLException;
import com.github.packageurl.PackageURL;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;

/**
 * Fuzz targets for the package-database readers an image's layers feed the SBOM: dpkg {@code status}, apk
 * {@code installed}, Python {@code METADATA}, jars (nested too) and {@code package-lock.json}. The image is the
 * builder's: every byte is hostile. Properties: a reader returns (a jar read may stop with the budget's
 * {@code Exceeded}, the only refusal), every package it names has a name and a version, and every purl it writes
 * parses back to the same type, name and version. Seeds beside this class; {@code bench/fuzz.sh} runs them.
 */
class PackageDatabaseFuzzTest {

    private static final Packages.Distro DEBIAN = new Packages.Distro("debian", "12", "Debian 12");
    private static final Packages.Distro ALPINE = new Packages.Distro("alpine", "3.19.1", "Alpine 3.19");

    @FuzzTest(maxDuration = "60s")
    void dpkgStatusNamesOnlyWholePackages(byte[] status) {
        String text = new String(status, StandardCharsets.UTF_8);
        List<Packages.Package> found = Packages.dpkg(text, DEBIAN, "/var/lib/dpkg/status");
        assertThat(found.size()).isLessThanOrEqualTo(Packages.paragraphs(text).size());
        found.forEach(p -> wellFormed(p, "deb"));
        Packages.dpkg(text, null, "/var/lib/dpkg/status").forEach(p -> wellFormed(p, "deb"));
    }

    @FuzzTest(maxDuration = "60s")
    void apkInstalledNamesOnlyWholePackages(byte[] installed) {
        String text = new String(installed, StandardCharsets.UTF_8);
        List<Packages.Package> found = Packages.apk(text, ALPINE, "/lib/apk/db/installed");
        assertThat(found.size()).isLessThanOrEqualTo(text.split("\n\n").length);
        found.forEach(p -> wellFormed(p, "apk"));
    }

    @FuzzTest(maxDuration = "60s")
    void pythonMetadataNamesOnePackageAtMost(byte[] metadata) {
        Packages.Package p = Packages.python(new String(metadata, StandardCharsets.UTF_8),
                "/usr/lib/python3/dist-packages/x.dist-info/METADATA");
        if (p != null) {
            wellFormed(p, "pypi");
            // PEP 503 normalisation: lower case, runs of -_. as one dash.
            assertThat(p.name()).isEqualTo(p.name().toLowerCase(java.util.Locale.ROOT));
            assertThat(p.name()).doesNotContain("_", ".", "--");
        }
    }

    @FuzzTest(maxDuration = "60s")
    void packageLockAndManifestsNeverThrow(byte[] json) {
        Packages.npmLock(json, "/app/package-lock.json").forEach(p -> wellFormed(p, "npm"));
        Packages.Package manifest = Packages.npm(json, "/app/node_modules/x/package.json");
        if (manifest != null) {
            wellFormed(manifest, "npm");
        }
    }

    /** Under limits as the gateway runs them (small, so the fuzzer reaches them): read, or stop with Exceeded. */
    @FuzzTest(maxDuration = "60s")
    void jarCoordinatesReadOrStopWithinTheBudget(byte[] jar) throws IOException {
        ScanBudget budget = new ScanBudget(new ScanBudget.Limits(1 << 20, 1000, 4096, 16 * 1024, 3), null,
                Clock.systemUTC());
        List<Packages.Package> found;
        try {
            found = Packages.fromArchive("/app/app.jar", new ByteArrayInputStream(jar), budget);
        } catch (ScanBudget.Exceeded stopped) {
            assertThat(stopped.getMessage()).isNotBlank();
            return;
        }
        found.forEach(p -> {
            assertThat(p.type()).isEqualTo("maven");
            assertThat(p.name()).isNotNull();
            assertThat(p.version()).isNotNull();
            if (p.purl() != null) {
                purlNames(p, "maven");
            }
        });
    }

    /** Every file the SBOM reads at once, as an image's flattened layers would hold them. */
    @FuzzTest(maxDuration = "60s")
    void allReadersTogetherNeverThrow(byte[] content) {
        Map<String, byte[]> files = Map.of(
                "/etc/os-release", content,
                "/var/lib/dpkg/status", content,
                "/lib/apk/db/installed", content,
                "/app/node_modules/x/package.json", content,
                "/app/package-lock.json", content,
                "/usr/lib/python3/x.dist-info/METADATA", content);
        Packages.Distro distro = Packages.distro(files);
        if (distro != null) {
            assertThat(distro.osvEcosystem()).isNotNull();
        }
        Packages.all(files, List.of()).forEach(p -> {
            assertThat(p.name()).isNotNull();
            assertThat(p.version()).isNotNull();
        });
    }

    private static void wellFormed(Packages.Package p, String type) {
        assertThat(p.type()).isEqualTo(type);
        assertThat(p.name()).isNotEmpty();
        assertThat(p.version()).isNotEmpty();
        assertThat(p.advisoryName()).isNotNull();
        if (p.purl() != null) {
            purlNames(p, type);
        }
    }

    /** A purl the SBOM carries reads back as the package it was written for. */
    private static void purlNames(Packages.Package p, String type) {
        PackageURL back;
        try {
            back = new PackageURL(p.purl());
        } catch (MalformedPackageURLException e) {
            throw new AssertionError("the purl written for " + p + " does not parse: " + e.getMessage(), e);
        }
        assertThat(back.getType()).isEqualTo(type);
        assertThat(back.getVersion()).isEqualTo(p.version());
    }
}
