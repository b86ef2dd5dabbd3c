package io.buildgateway.scanning.versions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every ordering must be a total order over valid and invalid strings alike: sorting advisory events, or a
 * TreeMap of versions, breaks (or throws "Comparison method violates its general contract") otherwise.
 */
class TotalOrderTest {

    /** Valid versions of every ecosystem, near misses and junk, so each ordering sees all of its fallback paths. */
    private static final List<String> CORPUS = Arrays.asList(null, "", " ", "0", "00", "1", "1.0", "1.0.0", "1.00",
            "1.0~rc1", "1.0~", "1.0-1", "1:0.9", "1:1.0-1", "a:1", "1.0+deb12u1", "1.0a", "1.0b", "1.0.1", "1.0_rc1",
            "1.0_p1", "1.0-r1", "1.0-r2", "1.0_alpha", "1.0~abc", "1.0_foo", "1.0bc", "1.0.0-alpha", "1.0.0-alpha.1",
            "1.0.0-0", "1.0.0+build", "v1.0.0", "V1.0.0", "1.0-SNAPSHOT", "1.0-sp1", "1.0.dev1", "1.0a1", "1.0.post1",
            "1.0+local", "1!0.1", "01.2.3", "2.0", "10", "latest", "abc", "~", "-", "..", "1..0", "1.0 beta",
            "99999999999999999999", "1.0-", "\u00e9", "1.0.0-rc.1+b");

    static Stream<Arguments> orderings() {
        return Stream.of(named("Debian", new DebianVersions()), named("Alpine", new AlpineVersions()),
                named("npm", new SemVers()), named("Maven", new MavenVersions()), named("PyPI", new PypiVersions()));
    }

    private static Arguments named(String name, VersionOrdering ordering) {
        return Arguments.of(Named.of(name, ordering));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("orderings")
    void isReflexiveAntisymmetricAndTransitiveAndNeverThrows(VersionOrdering ordering) {
        int n = CORPUS.size();
        int[][] sign = new int[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                sign[i][j] = Integer.signum(ordering.compare(CORPUS.get(i), CORPUS.get(j)));
            }
        }
        for (int i = 0; i < n; i++) {
            assertThat(sign[i][i]).as("'%s' = itself", CORPUS.get(i)).isZero();
            for (int j = 0; j < n; j++) {
                assertThat(sign[j][i]).as("'%s' vs '%s' mirrored", CORPUS.get(i), CORPUS.get(j)).isEqualTo(-sign[i][j]);
                for (int k = 0; k < n; k++) {
                    if (sign[i][j] <= 0 && sign[j][k] <= 0) {
                        int expected = sign[i][j] == 0 && sign[j][k] == 0 ? 0 : -1;
                        if (sign[i][k] != expected) {
                            fail("not transitive: '%s' %d '%s' %d '%s' but %d", CORPUS.get(i), sign[i][j],
                                    CORPUS.get(j), sign[j][k], CORPUS.get(k), sign[i][k]);
                        }
                    }
                }
            }
        }
        List<String> sorted = new ArrayList<>(CORPUS);
        sorted.sort(ordering::compare);
        assertThat(sorted).hasSameSizeAs(CORPUS);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("orderings")
    void isValidNeverThrows(VersionOrdering ordering) {
        for (String version : CORPUS) {
            ordering.isValid(version);
        }
        assertThat(ordering.isValid(null)).isFalse();
        assertThat(ordering.isValid("")).isFalse();
    }
}
