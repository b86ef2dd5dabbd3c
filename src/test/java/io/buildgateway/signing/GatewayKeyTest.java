package io.buildgateway.signing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayKeyTest {

    // Written by: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 (PKCS#8), openssl ec (SEC1),
    // openssl pkey -pubout, and openssl dgst -sha256 -sign over "hello".
    static final String PKCS8 = """
            -----BEGIN PRIVATE KEY-----
            MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMEhPOt8CCHaCdT7p
            EkRWAnb+aGtDLD4VpywaCs3YiGihRANCAAQm2T5Lpigel52FuaudpoqjXRcJ+Ctu
            EvquzsBE7kYLSOEDb5DEC2ZJeQ8GpNf51LQqAZorWh47WWTlN9qEMgHe
            -----END PRIVATE KEY-----
            """;
    static final String SEC1 = """
            -----BEGIN EC PRIVATE KEY-----
            MHcCAQEEIDBITzrfAgh2gnU+6RJEVgJ2/mhrQyw+FacsGgrN2IhooAoGCCqGSM49
            AwEHoUQDQgAEJtk+S6YoHpedhbmrnaaKo10XCfgrbhL6rs7ARO5GC0jhA2+QxAtm
            SXkPBqTX+dS0KgGaK1oeO1lk5TfahDIB3g==
            -----END EC PRIVATE KEY-----
            """;
    static final String PUBLIC = """
            -----BEGIN PUBLIC KEY-----
            MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEJtk+S6YoHpedhbmrnaaKo10XCfgr
            bhL6rs7ARO5GC0jhA2+QxAtmSXkPBqTX+dS0KgGaK1oeO1lk5TfahDIB3g==
            -----END PUBLIC KEY-----
            """;
    static final String OPENSSL_SIGNATURE =
            "MEYCIQCBVqc2e9mlD9cdFORFrw2VzuYUAWVdiNdJiAEx6D0DWAIhAMZnCTWtQDCJyAo6CfdcJqdTqha7YPOWnMFO2+NXnV0I";
    static final String P384 = """
            -----BEGIN PRIVATE KEY-----
            MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDOLcME2nPeG8XVw+Tg
            qsQ2UscxhfZ/UTXRGHURcfIyKJsNKoXokCPu63T1kg301BOhZANiAAS67KP8+gcQ
            Exy6ZnrIh2pdAl8nfn7qC9hnAL6vgsnBVgRs7O/FQUpi16nhi68ncFxfADf6xQff
            A+ZUZb4F2NJml0tAud4zZ3K09M59r1mb7CUSEtUo8zW7oSJITTDUKNg=
            -----END PRIVATE KEY-----
            """;

    @Test
    void readsOpensslKeysAndDerivesTheSamePublicKeyFromEitherForm() {
        GatewayKey pkcs8 = GatewayKey.fromPem(PKCS8);
        GatewayKey sec1 = GatewayKey.fromPem(SEC1);
        assertThat(pkcs8.publicKeyPem()).isEqualTo(PUBLIC);
        assertThat(sec1.publicKeyPem()).isEqualTo(PUBLIC);
        assertThat(pkcs8.keyId()).isEqualTo(sec1.keyId()).hasSize(64);
    }

    @Test
    void verifiesOpensslSignaturesAndItsOwnAreVerifiableWithThePublicPem() {
        byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
        var pub = GatewayKey.publicKeyFromPem(PUBLIC);
        assertThat(GatewayKey.verify(pub, hello, Base64.getDecoder().decode(OPENSSL_SIGNATURE))).isTrue();
        byte[] own = GatewayKey.fromPem(PKCS8).sign(hello);
        assertThat(GatewayKey.verify(pub, hello, own)).isTrue();
    }

    @Test
    void oneChangedByteFailsVerification() {
        GatewayKey key = GatewayKey.generate();
        byte[] data = "{\"seq\":42}".getBytes(StandardCharsets.UTF_8);
        byte[] sig = key.sign(data);
        data[3] ^= 1;
        assertThat(GatewayKey.verify(key.publicKey(), data, sig)).isFalse();
        data[3] ^= 1;
        sig[sig.length - 1] ^= 1;
        assertThat(GatewayKey.verify(key.publicKey(), data, sig)).isFalse();
        assertThat(GatewayKey.verify(key.publicKey(), data, new byte[] {1, 2, 3})).isFalse();
    }

    @Test
    void refusesOtherCurvesAndNonKeys() {
        assertThatThrownBy(() -> GatewayKey.fromPem(P384)).hasMessageContaining("P-256");
        assertThatThrownBy(() -> GatewayKey.fromPem(PUBLIC)).hasMessageContaining("no unencrypted private key");
        assertThatThrownBy(() -> GatewayKey.fromPem("garbage")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void generatesAMissingKeyFileOwnerOnlyAndReadsItBackUnchanged(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("keys/gateway.pem");
        var props = new SigningProperties(file, true, null, null, "PIN");
        GatewayKey first = SigningConfig.fromFile(props);
        assertThat(Files.getPosixFilePermissions(file))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        assertThat(Files.readString(Path.of(file + ".pub"))).isEqualTo(first.publicKeyPem());
        assertThat(SigningConfig.fromFile(props).keyId()).isEqualTo(first.keyId());
    }

    @Test
    void aMissingKeyFileWithoutGenerationStopsTheStartWithTheCommandToCreateIt(@TempDir Path dir) {
        var props = new SigningProperties(dir.resolve("absent.pem"), false, null, null, "PIN");
        assertThatThrownBy(() -> SigningConfig.fromFile(props)).hasMessageContaining("openssl genpkey");
    }
}
