package io.buildgateway.signing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.ProviderException;
import java.security.Security;
import java.security.cert.Certificate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Loads the gateway's signing key once at start; a gateway without a usable key does not start. */
@Configuration(proxyBeanMethods = false)
class SigningConfig {

    private static final Logger log = LoggerFactory.getLogger(SigningConfig.class);

    @Bean
    GatewayKey gatewayKey(SigningProperties properties) {
        GatewayKey key = properties.pkcs11Config() != null ? fromToken(properties) : fromFile(properties);
        log.info("signing key {} loaded ({}); public key:\n{}", key.keyId(),
                properties.pkcs11Config() != null ? "PKCS#11 token" : properties.keyFile(), key.publicKeyPem());
        return key;
    }

    static GatewayKey fromFile(SigningProperties properties) {
        Path file = properties.keyFile();
        if (file == null) {
            throw new IllegalStateException("gateway.signing.key-file or gateway.signing.pkcs11-config must be set:"
                    + " the gateway signs audit checkpoints and image provenance with its own key");
        }
        try {
            if (!Files.exists(file)) {
                if (!properties.generateIfMissing()) {
                    throw new IllegalStateException("the signing key file " + file + " does not exist (create it with"
                            + " 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + file + "')");
                }
                return generate(file);
            }
            return GatewayKey.fromPem(Files.readString(file, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the signing key file " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(file + ": " + e.getMessage(), e);
        }
    }

    private static GatewayKey generate(Path file) throws IOException {
        GatewayKey key = GatewayKey.generate();
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".signing", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, key.privateKeyPem(), StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        Files.writeString(Path.of(file + ".pub"), key.publicKeyPem(), StandardCharsets.US_ASCII);
        log.warn("generated a new signing key at {} (public key at {}.pub): fine for one VM or a test; a managed"
                + " deployment provisions its key (see docs/operations.md)", file, file);
        return key;
    }

    private static GatewayKey fromToken(SigningProperties properties) {
        String pin = System.getenv(properties.pkcs11PinEnv());
        if (pin == null || properties.pkcs11Alias() == null) {
            throw new IllegalStateException("a PKCS#11 signing key needs gateway.signing.pkcs11-alias and its PIN in"
                    + " the environment variable " + properties.pkcs11PinEnv());
        }
        return fromToken(properties.pkcs11Config(), properties.pkcs11Alias(), pin.toCharArray());
    }

    /** The key {@code alias} on the token that the SunPKCS11 configuration file names, logged in with the PIN. */
    static GatewayKey fromToken(Path pkcs11Config, String alias, char[] pin) {
        try {
            Provider base = Security.getProvider("SunPKCS11");
            if (base == null) {
                throw new IllegalStateException("this Java has no SunPKCS11 provider");
            }
            Provider provider = base.configure(pkcs11Config.toString());
            KeyStore store = KeyStore.getInstance("PKCS11", provider);
            store.load((InputStream) null, pin);
            if (!(store.getKey(alias, null) instanceof PrivateKey key)) {
                throw new IllegalStateException("the PKCS#11 token has no private key '" + alias + "'");
            }
            Certificate cert = store.getCertificate(alias);
            if (cert == null) {
                throw new IllegalStateException("the PKCS#11 key '" + alias
                        + "' has no certificate, so its public key is unknown");
            }
            return GatewayKey.fromToken(provider, key, cert.getPublicKey());
        } catch (GeneralSecurityException | IOException | ProviderException e) {
            // ProviderException: the module did not load or the configured slot is not there.
            String cause = e.getCause() != null && e.getCause() != e ? " (" + e.getCause().getMessage() + ")" : "";
            throw new IllegalStateException("cannot open the PKCS#11 signing key: " + e.getMessage() + cause, e);
        }
    }
}
