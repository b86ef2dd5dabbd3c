package io.buildgateway.hostpool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BuildHostVersionsTest {

    @Test
    void buildKitHostsNeedDockerd26AndClassicHostsAnyDaemon() {
        assertThat(BuildHostVersions.refusal(HostPoolProperties.Builder.BUILDKIT, "20.10.24+dfsg1", "1.41"))
                .contains("dockerd 20.10.24+dfsg1 (Engine API 1.41) is older than dockerd 26.0")
                .contains("builder: classic");
        assertThat(BuildHostVersions.refusal(HostPoolProperties.Builder.BUILDKIT, "25.0.5", "1.44")).isNotNull();
        assertThat(BuildHostVersions.refusal(HostPoolProperties.Builder.BUILDKIT, "26.1.5+dfsg1", "1.45")).isNull();
        assertThat(BuildHostVersions.refusal(HostPoolProperties.Builder.BUILDKIT, "28.2.2", "1.50")).isNull();
        assertThat(BuildHostVersions.refusal(HostPoolProperties.Builder.BUILDKIT, "?", null)).isNotNull();
        assertThat(BuildHostVersions.refusal(HostPoolProperties.Builder.CLASSIC, "20.10.24+dfsg1", "1.41")).isNull();
    }

    @Test
    void versionsCompareByNumberNotText() {
        assertThat(BuildHostVersions.compare("1.100", "1.45")).isPositive();
        assertThat(BuildHostVersions.compare("1.45", "1.45.0")).isZero();
        assertThat(BuildHostVersions.compare("1.9", "1.41")).isNegative();
    }
}
