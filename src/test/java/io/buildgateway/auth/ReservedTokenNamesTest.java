package io.buildgateway.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Names the trail uses for other callers cannot be a token's (a review's finding, 2026-12-07: actor spoofing). */
class ReservedTokenNamesTest {

    @Test
    void namesOfTheGatewayAndOfOtherKindsOfCallerAreReserved() {
        for (String name : new String[] {"system", "anonymous", "bootstrap-admin", "gateway", "GATEWAY", " system ",
                "warm-up", "prometheus-scraper", "rebuild", "(others)", "oidc:alice", "mtls:ci-payments",
                "Mtls:x", "token:ci"}) {
            assertThat(Tokens.reservedNameRule(name)).as(name).isNotNull().contains("reserved");
        }
    }

    @Test
    void ordinaryNamesAreNot() {
        for (String name : new String[] {"ci", "ci-payments", "alice", "gateway-ci", "system-tests", "my oidc:x"}) {
            assertThat(Tokens.reservedNameRule(name)).as(name).isNull();
        }
    }
}
