package io.buildgateway.auth;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.stereotype.Component;

/** Creates the ADMIN token whose secret is {@code GATEWAY_BOOTSTRAP_TOKEN}, if it does not exist. Never logs it. */
@Component
class BootstrapToken implements ApplicationRunner {

    private static final Logger log = LoggerFactory.getLogger(BootstrapToken.class);
    private final Tokens tokens;
    private final AuthProperties properties;

    BootstrapToken(Tokens tokens, AuthProperties properties) {
        this.tokens = tokens;
        this.properties = properties;
    }

    @Override
    public void run(ApplicationArguments args) {
        String secret = properties.bootstrapToken();
        if (secret == null || secret.isBlank()) {
            log.info("no bootstrap token configured (GATEWAY_BOOTSTRAP_TOKEN unset)");
            return;
        }
        if (secret.length() < 16) {
            throw new IllegalStateException("GATEWAY_BOOTSTRAP_TOKEN must be at least 16 characters");
        }
        if (tokens.ensureBootstrap(secret)) {
            log.info("bootstrap admin token created");
        }
    }
}
