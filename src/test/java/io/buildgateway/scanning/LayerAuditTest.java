package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.policy.ImagePolicy;
import io.buildgateway.policy.ImageRules;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;

class LayerAuditTest {

    private final LayerAudit audit = new LayerAudit(ImagePolicy.DEFAULT);

    /** A layer tar: entries of (name, mode, content or null for a directory). */
    static byte[] layer(Object... entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (int i = 0; i < entries.length; i += 3) {
                String name = (String) entries[i];
                int mode = (Integer) entries[i + 1];
                String content = (String) entries[i + 2];
                TarArchiveEntry e = new TarArchiveEntry(name);
                e.setMode(mode | (name.endsWith("/") ? 040000 : 0100000));
                byte[] bytes = content == null ? new byte[0] : content.getBytes(StandardCharsets.UTF_8);
                e.setSize(bytes.length);
                tar.putArchiveEntry(e);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    static byte[] save(byte[]... layers) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            int n = 0;
            for (byte[] layer : layers) {
                TarArchiveEntry dir = new TarArchiveEntry("layer" + n + "/");
                tar.putArchiveEntry(dir);
                tar.closeArchiveEntry();
                TarArchiveEntry e = new TarArchiveEntry("layer" + n++ + "/layer.tar");
                e.setSize(layer.length);
                tar.putArchiveEntry(e);
                tar.write(layer);
                tar.closeArchiveEntry();
            }
            byte[] manifest = "[{\"Config\":\"x.json\"}]".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry m = new TarArchiveEntry("manifest.json");
            m.setSize(manifest.length);
            tar.putArchiveEntry(m);
            tar.write(manifest);
            tar.closeArchiveEntry();
        }
        return out.toByteArray();
    }

    static String diffId(byte[] layer) throws Exception {
        return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(layer));
    }

    private List<String> kinds(byte[] layer) throws IOException {
        return audit.readLayer(new ByteArrayInputStream(layer)).observations().stream()
                .map(o -> o.kind() + " " + o.path()).toList();
    }

    @Test
    void layersAreKeyedByTheirDiffId() throws Exception {
        byte[] clean = layer("app/", 0755, null, "app/run.sh", 0755, "echo hi\n");
        byte[] bad = layer("usr/local/bin/evil", 04755, "x");
        Map<String, LayerAudit.Layer> found = audit.read(new ByteArrayInputStream(save(clean, bad)));
        assertThat(found).containsOnlyKeys(diffId(clean), diffId(bad));
        assertThat(found.get(diffId(clean)).observations()).isEmpty();
        assertThat(found.get(diffId(bad)).observations()).extracting(LayerAudit.Observation::kind)
                .containsExactly(ImageRules.SETUID_ADDED);
    }

    @Test
    void setuidAndSetgidFilesAreFound() throws IOException {
        assertThat(kinds(layer("./usr/bin/a", 04755, "x", "usr/bin/b", 02755, "x", "usr/bin/c", 0755, "x")))
                .containsExactly(ImageRules.SETUID_ADDED + " /usr/bin/a", ImageRules.SETUID_ADDED + " /usr/bin/b");
    }

    @Test
    void setuidOnTheAllowlistIsAccepted() throws IOException {
        ImagePolicy policy = new ImagePolicy(ImagePolicy.DEFAULT_PROTECTED,
                List.of(com.google.re2j.Pattern.compile("/usr/bin/ping")), java.util.Set.of(),
                ImagePolicy.DEFAULT.vulnerabilities());
        assertThat(new LayerAudit(policy).readLayer(new ByteArrayInputStream(layer("usr/bin/ping", 04755, "x")))
                .observations()).isEmpty();
    }

    @Test
    void whiteoutsOfProtectedFilesAreDeletions() throws IOException {
        assertThat(kinds(layer("etc/.wh.shadow", 0644, "", "var/lib/dpkg/.wh.status", 0644, "",
                "etc/.wh.motd", 0644, "")))
                .containsExactly(ImageRules.PROTECTED_PATH + " /etc/shadow",
                        ImageRules.PROTECTED_PATH + " /var/lib/dpkg/status");
    }

    /** A name with a line break under a protected folder is still inside it (java.util.regex's '.' stopped there). */
    @Test
    void aFileNameWithALineBreakDoesNotSlipPastAProtectedFolder() throws IOException {
        assertThat(kinds(layer("etc/ssl/certs/x\nroot.pem", 0644, "forged", "etc/pam.d/su\r", 0644, "auth sufficient")))
                .containsExactly(ImageRules.PROTECTED_PATH + " /etc/ssl/certs/x\nroot.pem",
                        ImageRules.PROTECTED_PATH + " /etc/pam.d/su\r");
    }

    /**
     * A folder with a line break in its name hides nothing from the audit or the SBOM: a credential file, a key, a
     * package lock under it are seen as anywhere else.
     */
    @Test
    void aFolderNamedWithALineBreakHidesNothing() throws IOException {
        byte[] layer = layer("home/x\n/.aws/credentials", 0600, "[default]", "srv/a\nb/tls.key", 0600, "k",
                "app\n/package-lock.json", 0644, "{}");
        assertThat(kinds(layer)).contains(ImageRules.PRIVATE_KEY + " /home/x\n/.aws/credentials");
        assertThat(new LayerAudit(ImagePolicy.DEFAULT).readLayer(new ByteArrayInputStream(layer)).files())
                .containsKey("/app\n/package-lock.json");
    }

    @Test
    void deletingADirectoryThatHoldsProtectedPathsIsFound() throws IOException {
        assertThat(kinds(layer(".wh.etc", 0644, ""))).containsExactly(ImageRules.PROTECTED_PATH + " /etc");
        assertThat(kinds(layer("etc/.wh.sudoers.d", 0644, "")))
                .containsExactly(ImageRules.PROTECTED_PATH + " /etc/sudoers.d");
        assertThat(kinds(layer("etc/.wh..wh..opq", 0644, ""))).containsExactly(ImageRules.PROTECTED_PATH + " /etc");
        assertThat(kinds(layer("srv/.wh..wh..opq", 0644, ""))).isEmpty();
    }

    @Test
    void modifyingIsRefusedOnlyWhereThePolicySaysSo() throws IOException {
        // Adding a user rewrites /etc/passwd (allowed: only its deletion is refused); sudoers may not change.
        assertThat(kinds(layer("etc/passwd", 0644, "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
                "etc/sudoers.d/app", 0440, "app ALL=(ALL) NOPASSWD: ALL\n", "etc/ssl/certs/evil.pem", 0644, "x")))
                .containsExactly(ImageRules.PROTECTED_PATH + " /etc/sudoers.d/app",
                        ImageRules.PROTECTED_PATH + " /etc/ssl/certs/evil.pem");
    }

    @Test
    void worldWritableFilesAndDirectoriesOutsideTemporaryFolders() throws IOException {
        assertThat(kinds(layer("app/data/", 0777, null, "app/x.sh", 0777, "x", "tmp/", 01777, null,
                "tmp/scratch", 0666, "x", "app/shared/", 01777, null)))
                .containsExactly(ImageRules.WORLD_WRITABLE + " /app/data", ImageRules.WORLD_WRITABLE + " /app/x.sh",
                        ImageRules.WORLD_WRITABLE + " /app/shared");
    }

    @Test
    void credentialFilesByNameAndByContent() throws IOException {
        assertThat(kinds(layer("root/.ssh/id_rsa", 0600, "whatever", "app/tls.key", 0600,
                "-----BEGIN EC PRIVATE KEY-----\nabc\n", "app/cert.pem", 0644, "-----BEGIN CERTIFICATE-----\n",
                "root/.aws/credentials", 0600, "[default]", "home/a/.npmrc", 0600, "//r/:_authToken=abc\n",
                "app/store.p12", 0600, "x", "root/.ssh/known_hosts", 0644, "host ssh-ed25519 AAAA")))
                .containsExactly(ImageRules.PRIVATE_KEY + " /root/.ssh/id_rsa", ImageRules.PRIVATE_KEY + " /app/tls.key",
                        ImageRules.PRIVATE_KEY + " /root/.aws/credentials", ImageRules.PRIVATE_KEY + " /home/a/.npmrc",
                        ImageRules.PRIVATE_KEY + " /app/store.p12");
    }

    @Test
    void aPrivateKeyIsFoundByItsContentWhateverTheFileIsCalled() throws IOException {
        String key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----\n";
        assertThat(kinds(layer("opt/app/deploy.dat", 0600, key, "srv/bag", 0600, "Bag Attributes\n    localKeyID: 01\n"
                + "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", "srv/late.txt", 0644, "x".repeat(LayerAudit.KEY_PEEK) + key,
                "app/cert.crt", 0644, "-----BEGIN CERTIFICATE-----\nMIIB\n", "app/public", 0644,
                "-----BEGIN PUBLIC KEY-----\nMIIB\n", "app/empty", 0644, "", "opt/app/deploy.jar", 0600, key,
                "root/signing.asc", 0600, "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQ\n")))
                .as("a key at the start of any file, one named as an archive too; a key further in, a certificate and"
                        + " a public key are not looked for or are no key")
                .containsExactly(ImageRules.PRIVATE_KEY + " /opt/app/deploy.dat", ImageRules.PRIVATE_KEY + " /srv/bag",
                        ImageRules.PRIVATE_KEY + " /opt/app/deploy.jar", ImageRules.PRIVATE_KEY + " /root/signing.asc");
    }

    @Test
    void theKeptFilesAreWhatTheLastLayerLeaves() throws Exception {
        byte[] base = layer("etc/passwd", 0644, "root:x:0:0::/:/bin/sh\n", "etc/os-release", 0644, "ID=debian\n",
                "var/lib/dpkg/status", 0644, "Package: a\nVersion: 1\n", "opt/x/package-lock.json", 0644, "{}",
                "srv/app/node_modules/left-pad/package.json", 0644, "{}");
        byte[] mid = layer("etc/passwd", 0644, "root:x:0:0::/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n",
                "var/lib/dpkg/.wh.status", 0644, "", "srv/.wh..wh..opq", 0644, "");
        byte[] top = layer("opt/.wh.x", 0644, "", "etc/apk-like-but-not-kept", 0644, "x");
        Map<String, LayerAudit.Layer> read = audit.read(new ByteArrayInputStream(save(base, mid, top)));
        LayerAudit.Flattened flat = LayerAudit.flatten(List.of(diffId(base), diffId(mid), diffId(top)), read);
        assertThat(flat.files()).containsOnlyKeys("/etc/passwd", "/etc/os-release");
        assertThat(new String(flat.files().get("/etc/passwd"), StandardCharsets.UTF_8)).contains("app:x:1000");
        // In another order the same layers leave something else: order is the image's, not the stream's.
        LayerAudit.Flattened reversed = LayerAudit.flatten(List.of(diffId(mid), diffId(base)), read);
        assertThat(reversed.files()).containsKey("/var/lib/dpkg/status");
    }

    @Test
    void aLinkWhereAKeptFileWasHidesItsOldContent() throws Exception {
        byte[] base = layer("etc/passwd", 0644, "root:x:0:0::/:/bin/sh\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            TarArchiveEntry link = new TarArchiveEntry("etc/passwd", org.apache.commons.compress.archivers.tar
                    .TarConstants.LF_SYMLINK);
            link.setLinkName("/etc/passwd2");
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
        }
        byte[] top = out.toByteArray();
        Map<String, LayerAudit.Layer> read = audit.read(new ByteArrayInputStream(save(base, top)));
        assertThat(LayerAudit.flatten(List.of(diffId(base), diffId(top)), read).files()).doesNotContainKey(
                "/etc/passwd");
    }

    @Test
    void jarsInLayersGiveTheirPackagesUnlessALaterLayerDeletesThem() throws Exception {
        byte[] jar = PackagesTest.jar(Map.of("META-INF/maven/g/a/pom.properties",
                "groupId=g\nartifactId=a\nversion=1\n"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            TarArchiveEntry e = new TarArchiveEntry("app/lib/a-1.jar");
            e.setSize(jar.length);
            tar.putArchiveEntry(e);
            tar.write(jar);
            tar.closeArchiveEntry();
        }
        byte[] withJar = out.toByteArray();
        byte[] deleting = layer("app/.wh.lib", 0644, "");
        Map<String, LayerAudit.Layer> read = audit.read(new ByteArrayInputStream(save(withJar, deleting)));
        assertThat(LayerAudit.flatten(List.of(diffId(withJar)), read).javaPackages())
                .extracting(Packages.Package::purl).containsExactly("pkg:maven/g/a@1");
        assertThat(LayerAudit.flatten(List.of(diffId(withJar), diffId(deleting)), read).javaPackages()).isEmpty();
    }

    @Test
    void entriesOtherThanLayersAreIgnored() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
            byte[] json = "{\"not\":\"a layer\"}".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry("blobs/sha256/abc");
            e.setSize(json.length);
            tar.putArchiveEntry(e);
            tar.write(json);
            tar.closeArchiveEntry();
        }
        assertThat(audit.read(new ByteArrayInputStream(out.toByteArray()))).isEmpty();
    }
}
