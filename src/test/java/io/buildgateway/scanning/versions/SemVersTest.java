package io.buildgateway.scanning.versions;

import static io.buildgateway.scanning.versions.OrderingTables.assertAscending;
import static io.buildgateway.scanning.versions.OrderingTables.assertRelation;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SemVersTest {

    private final SemVers semver = new SemVers();

    @Test
    void precedenceExamplesOfTheSpec() {
        // semver.org 2.0.0, section 11.
        assertAscending(semver, "1.0.0", "2.0.0", "2.1.0", "2.1.1");
        assertAscending(semver, "1.0.0-alpha", "1.0.0");
        assertAscending(semver, "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
                "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0");
    }

    /** Answers checked against semver.compare of the semver package that npm bundles (the big numbers excepted). */
    static Stream<Arguments> likeNpm() {
        return OrderingTables.rows("""
                1.2.3 < 1.2.10
                1.10.0 > 1.9.9
                0.0.1 < 0.1.0
                1.0.0-alpha1 < 1.0.0-alpha10
                1.0.0-alpha10 < 1.0.0-alpha2
                1.0.0-2 < 1.0.0-11
                1.0.0-11 < 1.0.0-a
                1.0.0-X < 1.0.0-x
                1.0.0-a-b > 1.0.0-a.b
                1.0.0-rc.1 < 1.0.0-rc.1.0
                1.0.0-0 < 1.0.0
                1.0.0 < 1.0.1-0
                1.0.0+build.1 = 1.0.0+build.2
                1.0.0-rc.1+build.1 = 1.0.0-rc.1
                1.0.0-alpha+001 < 1.0.0+20130313144700
                v1.2.3 = 1.2.3
                v1.2.3 < v1.2.4
                4.17.20 < 4.17.21
                99999999999999999999.0.0 > 9999999999999999999.0.0
                """);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("likeNpm")
    void ordersLikeNpm(String a, String op, String b) {
        assertRelation(semver, a, op, b);
    }

    @Test
    void validityIsTheStrictGrammar() {
        for (String good : new String[] {"0.0.0", "1.2.3", "v1.2.3", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--",
                "1.0.0-alpha+001", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85",
                "1.0.0+21AF26D3---117B344092BD", " 1.2.3 "}) {
            assertThat(semver.isValid(good)).as("'%s'", good).isTrue();
        }
        for (String bad : new String[] {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01",
                "1.2.3-", "1.2.3+", "1.2.3-alpha..1", "1.2.3-al_pha", "a.b.c", "=1.2.3", "V1.2.3", "1.2.3 4", null}) {
            assertThat(semver.isValid(bad)).as("'%s'", bad).isFalse();
        }
    }

    @Test
    void nearMissesOrderByTheirEvidentMeaningAndJunkSortsFirst() {
        assertRelation(semver, "1.2", "=", "1.2.0");
        assertRelation(semver, "1", "<", "1.0.1");
        assertRelation(semver, "01.2.3", "=", "1.2.3");
        assertRelation(semver, "1.2-beta", "<", "1.2.0");
        assertRelation(semver, "latest", "<", "0.0.0-0");
        assertRelation(semver, "latest", "<", "release");
        assertRelation(semver, null, "<", "0.0.0");
    }
}
