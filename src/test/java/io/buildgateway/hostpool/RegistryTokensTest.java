package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jwt.SignedJWT;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tokens as distribution's {@code auth: token} checks them (registry/auth/token/token.go, v2.8). */
class RegistryTokensTest {

    private static final Instant NOW = Instant.parse("2026-12-02T04:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    @TempDir
    Path dir;

    private HostPoolProperties.Tokens write(KeyPair keys, String signature) throws Exception {
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                new X500Principal("CN=registry tokens"), BigInteger.ONE, Date.from(NOW.minusSeconds(3600)),
                Date.from(NOW.plusSeconds(86400)), new X500Principal("CN=registry tokens"), keys.getPublic())
                .build(new JcaContentSignerBuilder(signature).build(keys.getPrivate())));
        Path key = dir.resolve("key.pem");
        Path certificate = dir.resolve("cert.pem");
        Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(keys.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
        Files.writeString(certificate, "-----BEGIN CERTIFICATE-----\n"
                + Base64.getMimeEncoder().encodeToString(cert.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        return new HostPoolProperties.Tokens(key, certificate, "build-gateway", "registry-svc", Duration.ofMinutes(10),
                List.of("base/"));
    }

    private static X509Certificate x5c(SignedJWT jwt) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                new ByteArrayInputStream(jwt.getHeader().getX509CertChain().get(0).decode()));
    }

    @Test
    void anRsaTokenCarriesItsCertificateTheRegistrysClaimsAndExactlyTheGrantedAccess() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair keys = g.generateKeyPair();
        RegistryTokens tokens = new RegistryTokens(write(keys, "SHA256withRSA"), CLOCK);

        String token = tokens.mint("build/b1", List.of(
                new RegistryTokens.Access("alpha/app", Set.of("push")),
                new RegistryTokens.Access("base/busybox", Set.of("pull")),
                new RegistryTokens.Access("alpha/app", Set.of("pull"))), Duration.ofMinutes(5));

        SignedJWT jwt = SignedJWT.parse(token);
        assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
        assertThat(jwt.verify(new RSASSAVerifier((RSAPublicKey) keys.getPublic()))).isTrue();
        assertThat(x5c(jwt).getPublicKey()).isEqualTo(keys.getPublic());
        var claims = jwt.getJWTClaimsSet();
        assertThat(claims.getIssuer()).isEqualTo("build-gateway");
        assertThat(claims.getSubject()).isEqualTo("build/b1");
        assertThat(claims.getAudience()).containsExactly("registry-svc");
        // distribution 2.8 reads aud as one string
        assertThat(new String(Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8))
                .contains("\"aud\":\"registry-svc\"");
        assertThat(claims.getExpirationTime().toInstant()).isEqualTo(NOW.plusSeconds(300));
        assertThat(claims.getNotBeforeTime().toInstant()).isBefore(NOW.plusSeconds(1));
        assertThat(claims.getIssueTime().toInstant()).isEqualTo(NOW);
        assertThat(claims.getJWTID()).isNotBlank();
        assertThat(claims.getClaim("access")).isEqualTo(List.of(
                Map.of("type", "repository", "name", "alpha/app", "actions", List.of("pull", "push")),
                Map.of("type", "repository", "name", "base/busybox", "actions", List.of("pull"))));
        assertThat(SignedJWT.parse(tokens.mint("build/b1", List.of(), Duration.ofMinutes(5))).getJWTClaimsSet()
                .getJWTID()).isNotEqualTo(claims.getJWTID());
    }

    @Test
    void anEcKeySignsWithEs256() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = g.generateKeyPair();
        SignedJWT jwt = SignedJWT.parse(new RegistryTokens(write(keys, "SHA256withECDSA"), CLOCK)
                .mint("build/b2", List.of(new RegistryTokens.Access("base/debian", Set.of("pull"))),
                        Duration.ofMinutes(1)));
        assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
        assertThat(jwt.verify(new ECDSAVerifier((ECPublicKey) keys.getPublic()))).isTrue();
        // JOSE's raw R||S signature (64 bytes), which libtrust verifies; not DER
        assertThat(jwt.getSignature().decode()).hasSize(64);
    }

    @Test
    void aKeyThatIsNotPkcs8IsRefusedWithoutPrintingIt() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        HostPoolProperties.Tokens config = write(g.generateKeyPair(), "SHA256withRSA");
        String secret = "-----BEGIN RSA PRIVATE KEY-----\nTUlJRXBBSUJBQUtDQVFFQXZlcnlzZWNyZXQ=\n-----END RSA PRIVATE KEY-----\n";
        Files.writeString(config.keyPath(), secret);
        assertThatThrownBy(() -> new RegistryTokens(config, CLOCK))
                .hasMessageContaining(config.keyPath().toString())
                .hasMessageContaining("PKCS#8")
                .hasMessageNotContaining("TUlJRXBB");
    }
}
