package io.buildgateway.shared.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The firewall's reasons, in words that quote nothing a client sent but a blocked sequence. */
class FirewallRejectionsTest {

    @Test
    void aBlockedSequenceIsNamed() {
        assertThat(FirewallRejections.reason("The request was rejected because the URL contained a potentially"
                + " malicious String \";\"")).isEqualTo("the URL contains the blocked sequence \";\"");
    }

    @Test
    void aHeadersValueIsNeverQuoted() {
        String reason = FirewallRejections.reason("The request was rejected because the header: \"Authorization\" "
                + "has a value \"Bearer bgw_secret\u0007\" that is not allowed.");
        assertThat(reason).doesNotContain("bgw_secret").contains("header");
        assertThat(FirewallRejections.reason(null)).isNotBlank();
    }
}
