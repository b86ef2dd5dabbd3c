package io.buildgateway.signing;

import java.util.Map;
import org.springframework.security.access.prepost.PreAuthorize;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** The gateway's public key, for whoever verifies what it signed (audit checkpoints, provenance). */
@RestController
class SigningKeyController {

    private final GatewayKey key;

    SigningKeyController(GatewayKey key) {
        this.key = key;
    }

    @GetMapping("/api/v1/signing-key")
    @PreAuthorize("isAuthenticated()")
    Map<String, String> key() {
        return Map.of("keyId", key.keyId(), "algorithm", "ECDSA P-256 SHA-256", "publicKey", key.publicKeyPem());
    }
}
