package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class EgressPathTest {

    @Test
    void theStepsProxyKeepsTheCredentialsAndTakesTheHostsAddress() {
        assertThat(EgressPath.stepProxy("http://build-1234:s3cr%2Ft@127.0.0.1:5100", "10.213.0.1:5114"))
                .isEqualTo("http://build-1234:s3cr%2Ft@10.213.0.1:5114");
    }

    @Test
    void aProxyUrlWithoutCredentialsOrAnAddressWithoutPortIsRefused() {
        assertThatThrownBy(() -> EgressPath.stepProxy("http://127.0.0.1:5100", "10.213.0.1:5114"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EgressPath.stepProxy("https://a:b@127.0.0.1:5100", "10.213.0.1:5114"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EgressPath.stepProxy("http://a:b@127.0.0.1:5100", "10.213.0.1"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EgressPath.stepProxy("http://a:b@127.0.0.1:5100", "10.213.0.1:5114/x"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theProxyArgsOverrideTheCallersAndNothingBypassesTheProxy() {
        Map<String, String> args = EgressPath.buildArgs(Map.of("HTTP_PROXY", "http://evil:1", "VERSION", "1.2"),
                "http://build-1:s@10.213.0.1:5114");
        assertThat(args).containsEntry("VERSION", "1.2")
                .containsEntry("HTTP_PROXY", "http://build-1:s@10.213.0.1:5114")
                .containsEntry("https_proxy", "http://build-1:s@10.213.0.1:5114")
                .containsEntry("NO_PROXY", "").containsEntry("no_proxy", "");
    }
}
