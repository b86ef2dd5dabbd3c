package io.buildgateway.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A tiny identity provider for tests: an RSA key made here, its public half served as a JWKS (and an OpenID
 * discovery document) by a real HTTP server on the loopback, and real signed JWTs. Like Keycloak, it puts the
 * groups in {@code groups} and the realm roles in {@code realm_access.roles}.
 */
final class TestIdentityProvider implements AutoCloseable {

    static final String AUDIENCE = "build-gateway";

    private final HttpServer server;
    private final RSAKey key;
    private final RSAKey otherKey;
    private final AtomicInteger jwksRequests = new AtomicInteger();
    private volatile boolean down;

    private TestIdentityProvider() {
        key = rsa("test-key-1");
        otherKey = rsa("test-key-1"); // the same key id, another key: a forged token
        try {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        server.createContext("/realms/test/protocol/openid-connect/certs", exchange -> {
            jwksRequests.incrementAndGet();
            if (down) {
                exchange.sendResponseHeaders(503, -1);
                exchange.close();
                return;
            }
            respond(exchange, new JWKSet(key.toPublicJWK()).toString());
        });
        server.createContext("/realms/test/.well-known/openid-configuration", exchange -> {
            if (down) {
                exchange.sendResponseHeaders(503, -1);
                exchange.close();
                return;
            }
            respond(exchange, "{\"issuer\":\"" + issuer() + "\",\"jwks_uri\":\"" + jwksUri() + "\"}");
        });
        server.start();
    }

    static TestIdentityProvider start() {
        return new TestIdentityProvider();
    }

    private static void respond(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, bytes.length);
        exchange.getResponseBody().write(bytes);
        exchange.close();
    }

    String issuer() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/realms/test";
    }

    String jwksUri() {
        return issuer() + "/protocol/openid-connect/certs";
    }

    int jwksRequests() {
        return jwksRequests.get();
    }

    void down(boolean down) {
        this.down = down;
    }

    /** A token for a user with the given groups, valid for five minutes, from this provider, for the gateway. */
    String token(String user, List<String> groups) {
        return token(c -> c.claim("preferred_username", user).claim("groups", groups));
    }

    /** A token whose claims the caller adjusts (issuer, audience, times, ...) on top of valid defaults. */
    String token(Consumer<JWTClaimsSet.Builder> claims) {
        return sign(key, claims);
    }

    /** A token of the same shape and key id, signed with a key the provider never published. */
    String forged(String user, List<String> groups) {
        return sign(otherKey, c -> c.claim("preferred_username", user).claim("groups", groups));
    }

    /** A token signed with a key the provider never published, under a key id it never used. */
    String unknownKey(String keyId) {
        RSAKey stranger = new RSAKey.Builder(otherKey).keyID(keyId).build();
        return sign(stranger, c -> c.claim("preferred_username", "mallory").claim("groups", List.of("gateway-admins")));
    }

    private String sign(RSAKey with, Consumer<JWTClaimsSet.Builder> adjust) {
        Instant now = Instant.now();
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .issuer(issuer())
                .subject(UUID.randomUUID().toString())
                .audience(List.of(AUDIENCE, "account"))
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(Duration.ofMinutes(5))))
                .jwtID(UUID.randomUUID().toString())
                .claim("azp", "gateway-cli")
                .claim("realm_access", Map.of("roles", List.of("offline_access", "default-roles-test")));
        adjust.accept(claims);
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(with.getKeyID())
                    .type(JOSEObjectType.JWT).build(), claims.build());
            jwt.sign(new RSASSASigner((RSAPrivateKey) with.toPrivateKey()));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    private static RSAKey rsa(String keyId) {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            KeyPair pair = generator.generateKeyPair();
            return new RSAKey.Builder((RSAPublicKey) pair.getPublic()).privateKey(pair.getPrivate()).keyID(keyId)
                    .build();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
