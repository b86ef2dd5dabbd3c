package io.buildgateway.signing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PKCS#11 path of the signing key on a real token: SoftHSM 2 (Debian's softhsm2, which scripts/env.sh installs
 * with opensc's pkcs11-tool), a P-256 key made by openssl and imported with its certificate, the token opened through
 * SunPKCS11 exactly as the gateway opens it. Signatures made on the token verify with the public key and with
 * openssl; a wrong PIN or alias is refused with a reason.
 */
class Pkcs11KeyIT {

    private static final String MODULE = "/usr/lib/softhsm/libsofthsm2.so";
    private static final Pattern SLOT = Pattern.compile("reassigned to slot (\\d+)");

    // One token for the class: SoftHSM reads its tokens when the module is first initialised in this JVM.
    @TempDir
    static Path dir;
    private static final String label = "bgw-it-" + UUID.randomUUID().toString().substring(0, 8);
    private static final String pin = "pin-" + UUID.randomUUID().toString().substring(0, 8);
    private static Path config;

    @BeforeAll
    static void token() throws Exception {
        if (!Files.exists(Path.of(MODULE))) {
            fail(MODULE + " is missing: install softhsm2 and opensc (scripts/env.sh up test does)");
        }
        String init = run("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin",
                "so-" + pin);
        Matcher slot = SLOT.matcher(init);
        assertThat(slot.find()).as(init).isTrue();
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                dir.resolve("key.pem").toString());
        run("openssl", "req", "-x509", "-key", dir.resolve("key.pem").toString(), "-subj", "/CN=build-gateway",
                "-days", "30", "-outform", "DER", "-out", dir.resolve("cert.der").toString());
        run("openssl", "pkey", "-in", dir.resolve("key.pem").toString(), "-pubout", "-out",
                dir.resolve("public.pem").toString());
        run("softhsm2-util", "--import", dir.resolve("key.pem").toString(), "--token", label, "--label", "gateway",
                "--id", "01", "--pin", pin);
        run("pkcs11-tool", "--module", MODULE, "--token-label", label, "--login", "--pin", pin, "--write-object",
                dir.resolve("cert.der").toString(), "--type", "cert", "--id", "01", "--label", "gateway");
        Files.delete(dir.resolve("key.pem")); // from here on the private key exists only on the token
        config = Files.writeString(dir.resolve("pkcs11.cfg"), "name = BgwIt" + label.substring(7) + "\nlibrary = "
                + MODULE + "\nslot = " + slot.group(1) + "\n");
    }

    @AfterAll
    static void deleteToken() throws Exception {
        run("softhsm2-util", "--delete-token", "--token", label);
    }

    /**
     * One test, in this order: a token's login is shared by every session of the process, so a wrong PIN is only
     * refused before the first successful login.
     */
    @Test
    void opensOnlyWithThePinAndSignsOnTheTokenWithTheKeyOperatorsVerify() throws Exception {
        assertThatThrownBy(() -> SigningConfig.fromToken(config, "gateway", "wrong-pin".toCharArray()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot open the PKCS#11 signing key");
        assertThatThrownBy(() -> SigningConfig.fromToken(Files.writeString(dir.resolve("absent.cfg"),
                "name = BgwItAbsent\nlibrary = " + MODULE + "\nslot = 4242\n"), "gateway", pin.toCharArray()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("cannot open the PKCS#11 signing key");
        assertThatThrownBy(() -> SigningConfig.fromToken(config, "other", pin.toCharArray()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no private key 'other'");

        GatewayKey key = SigningConfig.fromToken(config, "gateway", pin.toCharArray());
        String expectedPublic = Files.readString(dir.resolve("public.pem"));
        assertThat(key.publicKeyPem()).isEqualTo(expectedPublic);
        assertThat(key.keyId()).isEqualTo(GatewayKey.keyId(GatewayKey.publicKeyFromPem(expectedPublic)));

        byte[] data = "DSSEv1 28 application/vnd.in-toto+json 2 {}".getBytes(StandardCharsets.UTF_8);
        byte[] signature = key.sign(data);
        assertThat(GatewayKey.verify(GatewayKey.publicKeyFromPem(expectedPublic), data, signature)).isTrue();
        byte[] changed = data.clone();
        changed[0] ^= 1;
        assertThat(GatewayKey.verify(key.publicKey(), changed, signature)).isFalse();

        Files.write(dir.resolve("data"), data);
        Files.write(dir.resolve("sig"), signature);
        assertThat(run("openssl", "dgst", "-sha256", "-verify", dir.resolve("public.pem").toString(), "-signature",
                dir.resolve("sig").toString(), dir.resolve("data").toString())).contains("Verified OK");
        assertThatThrownBy(() -> key.privateKeyPem()).hasMessageContaining("cannot be exported");
    }

    private static String run(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int exit = p.waitFor();
        if (exit != 0) {
            fail(String.join(" ", cmd.subList(0, Math.min(2, cmd.size()))) + " exited " + exit + ": " + out);
        }
        return out;
    }
}
