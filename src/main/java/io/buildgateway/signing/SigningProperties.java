package io.buildgateway.signing;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Where the gateway's signing key lives. Either a PEM file (an ECDSA P-256 private key, PKCS#8 {@code PRIVATE KEY}
 * or SEC1 {@code EC PRIVATE KEY}, as {@code openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256} writes
 * it) or a key on a PKCS#11 token (an HSM; SunPKCS11 configuration file, key alias, and the name of the environment
 * variable holding the PIN, so the PIN is never in a configuration file).
 *
 * @param keyFile the PEM private key file
 * @param generateIfMissing create {@code keyFile} (mode 0600) at start when it does not exist; for a single VM and
 *     tests, never for a production deployment whose key is managed
 * @param pkcs11Config a SunPKCS11 configuration file; when set, the key is taken from the token, not from keyFile
 * @param pkcs11Alias the key's alias on the token
 * @param pkcs11PinEnv the environment variable that holds the token's PIN
 */
@ConfigurationProperties("gateway.signing")
public record SigningProperties(
        Path keyFile,
        @DefaultValue("false") boolean generateIfMissing,
        Path pkcs11Config,
        String pkcs11Alias,
        @DefaultValue("GATEWAY_PKCS11_PIN") String pkcs11PinEnv) {
}
