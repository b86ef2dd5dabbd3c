package io.buildgateway.scanning.versions;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VersionOrderingsTest {

    @Test
    void osvEcosystemNamesWithOrWithoutReleaseFindTheirOrdering() {
        assertThat(VersionOrderings.forEcosystem("Debian")).containsInstanceOf(DebianVersions.class);
        assertThat(VersionOrderings.forEcosystem("Debian:12")).containsInstanceOf(DebianVersions.class);
        assertThat(VersionOrderings.forEcosystem("Ubuntu")).containsInstanceOf(DebianVersions.class);
        assertThat(VersionOrderings.forEcosystem("Ubuntu:22.04:LTS")).containsInstanceOf(DebianVersions.class);
        assertThat(VersionOrderings.forEcosystem("Ubuntu:Pro:18.04:LTS")).containsInstanceOf(DebianVersions.class);
        assertThat(VersionOrderings.forEcosystem("Alpine")).containsInstanceOf(AlpineVersions.class);
        assertThat(VersionOrderings.forEcosystem("Alpine:v3.19")).containsInstanceOf(AlpineVersions.class);
        assertThat(VersionOrderings.forEcosystem("Maven")).containsInstanceOf(MavenVersions.class);
        assertThat(VersionOrderings.forEcosystem("npm")).containsInstanceOf(SemVers.class);
        assertThat(VersionOrderings.forEcosystem("PyPI")).containsInstanceOf(PypiVersions.class);
    }

    @Test
    void caseDifferencesAreTolerated() {
        assertThat(VersionOrderings.forEcosystem("debian:12")).containsInstanceOf(DebianVersions.class);
        assertThat(VersionOrderings.forEcosystem("ALPINE:V3.20")).containsInstanceOf(AlpineVersions.class);
        assertThat(VersionOrderings.forEcosystem("NPM")).containsInstanceOf(SemVers.class);
        assertThat(VersionOrderings.forEcosystem("pypi")).containsInstanceOf(PypiVersions.class);
        assertThat(VersionOrderings.forEcosystem(" maven ")).containsInstanceOf(MavenVersions.class);
    }

    @Test
    void unknownEcosystemsHaveNoOrdering() {
        for (String unknown : new String[] {"Go", "crates.io", "RubyGems", "NuGet", "Packagist", "Wolfi", "Rocky Linux",
                "GIT", "", ":12", null}) {
            assertThat(VersionOrderings.forEcosystem(unknown)).as("'%s'", unknown).isEmpty();
        }
    }
}
