package io.buildgateway.hostpool;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Mints the registry's bearer tokens (the Docker registry token format that distribution's {@code auth: token}
 * verifies): a JWT signed with the gateway's registry-token key, its certificate in {@code x5c} (the registry trusts
 * it through {@code rootcertbundle}), {@code iss}, {@code sub}, {@code aud} = the registry's service, short
 * {@code exp}, {@code nbf}, {@code iat}, {@code jti}, and {@code access}: exactly the repositories and actions given.
 * The daemon receives a token as the {@code registrytoken} of its auth config and sends it as is; it cannot widen it.
 * Thread-safe.
 */
public final class RegistryTokens {

    /** One grant: actions ({@code pull}, {@code push}) on one repository ({@code team/name}). */
    public record Access(String repository, Set<String> actions) {
        public Access {
            actions = Set.copyOf(actions);
        }
    }

    private final JWSSigner signer;
    private final JWSAlgorithm algorithm;
    private final List<Base64> chain;
    private final String issuer;
    private final String service;
    private final Clock clock;

    RegistryTokens(HostPoolProperties.Tokens config, Clock clock) {
        this.issuer = config.issuer();
        this.service = config.service();
        this.clock = clock;
        try {
            PrivateKey key = readKey(config.keyPath());
            X509Certificate certificate = readCertificate(config.certificatePath());
            if (key instanceof RSAPrivateKey rsa) {
                signer = new RSASSASigner(rsa);
                algorithm = JWSAlgorithm.RS256;
            } else if (key instanceof ECPrivateKey ec) {
                signer = new ECDSASigner(ec);
                algorithm = JWSAlgorithm.ES256;
            } else {
                throw new IllegalStateException("the registry token key must be RSA or EC P-256");
            }
            chain = List.of(Base64.encode(certificate.getEncoded()));
        } catch (IOException | GeneralSecurityException | JOSEException e) {
            // The message names the files, never their content.
            throw new IllegalStateException("cannot read the registry token key " + config.keyPath()
                    + " or its certificate " + config.certificatePath() + ": " + e.getMessage(), e);
        }
    }

    /** A token for {@code subject} (a build, say) with exactly these grants, valid for {@code ttl} from now. */
    public String mint(String subject, Collection<Access> grants, Duration ttl) {
        Instant now = clock.instant();
        List<Map<String, Object>> access = new ArrayList<>();
        for (Access a : merge(grants)) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("type", "repository");
            entry.put("name", a.repository());
            entry.put("actions", a.actions().stream().sorted().toList());
            access.add(entry);
        }
        JWTClaimsSet claims = new JWTClaimsSet.Builder()
                .issuer(issuer)
                .subject(subject)
                .audience(service)
                .issueTime(Date.from(now))
                // A little slack for the registry's clock; the registry itself allows a minute of skew on exp.
                .notBeforeTime(Date.from(now.minusSeconds(30)))
                .expirationTime(Date.from(now.plus(ttl)))
                .jwtID(UUID.randomUUID().toString())
                .claim("access", access)
                .build();
        JWSHeader header = new JWSHeader.Builder(algorithm).type(JOSEObjectType.JWT).x509CertChain(chain).build();
        SignedJWT jwt = new SignedJWT(header, claims);
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new IllegalStateException("signing a registry token failed", e);
        }
        return jwt.serialize();
    }

    /** Grants on the same repository become one entry with the union of their actions, in a stable order. */
    static List<Access> merge(Collection<Access> grants) {
        Map<String, Set<String>> byRepository = new TreeMap<>();
        for (Access a : grants) {
            byRepository.computeIfAbsent(a.repository(), r -> new LinkedHashSet<>()).addAll(a.actions());
        }
        return byRepository.entrySet().stream().map(e -> new Access(e.getKey(), e.getValue())).toList();
    }

    private static PrivateKey readKey(Path path) throws IOException, GeneralSecurityException {
        String pem = Files.readString(path, StandardCharsets.US_ASCII);
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException("not a PKCS#8 PEM private key (BEGIN PRIVATE KEY); convert it with"
                    + " `openssl pkcs8 -topk8 -nocrypt`");
        }
        byte[] der = java.util.Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        try {
            return KeyFactory.getInstance("RSA").generatePrivate(spec);
        } catch (GeneralSecurityException notRsa) {
            return KeyFactory.getInstance("EC").generatePrivate(spec);
        }
    }

    private static X509Certificate readCertificate(Path path) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(path)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }
}
