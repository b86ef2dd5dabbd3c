package io.buildgateway.scanning.versions;

import static io.buildgateway.scanning.versions.OrderingTables.assertAscending;
import static io.buildgateway.scanning.versions.OrderingTables.assertRelation;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class AlpineVersionsTest {

    private final AlpineVersions alpine = new AlpineVersions();

    /**
     * Rows chosen from apk-tools' own test vectors (test/unit/version.data of apk-tools 3, a superset of
     * test/version.data of 2.14); the implementation was run against every comparison and validity row of both files.
     */
    static Stream<Arguments> apkToolsVectors() {
        return OrderingTables.rows("""
                2.34 > 0.1.0_alpha
                23_foo > 4_beta
                1.0 < 1.0bc
                0.1.0_alpha = 0.1.0_alpha
                0.1.0_alpha < 0.1.3_alpha
                0.1.0_alpha2 > 0.1.0_alpha
                0.1.0_alpha < 2.2.39-r1
                1.0.4-r3 < 1.0.4-r4
                1.0.4-r4 < 1.6
                1.1 > 1.1_alpha1
                1.2.1 > 1.2
                1.2 < 1.3_alpha
                1.3_alpha2 < 1.3_alpha3
                0.7.0 < 0.8_beta1
                2.3.0b-r1 < 2.3.0b-r2
                0.12.3 > 0.12
                1.2.12.1 < 1.2.13
                3.1_p16 < 3.1_p17
                1.06-r6 < 006
                006 > 1.0.0
                1.2.2-r1 > 1.2.2
                2.5.1-r8 < 2.5.1a-r1
                0.15.1b-r2 > 0.15.1b
                1.0.1 < 1.06-r1
                1.2.10 < 20040923-r2
                021109-r3 < 20060512
                2.0.0_rc3-r1 > 1.5
                22.7 > 2.1_pre20
                3.9_pre20060124 > 0.01
                1.6d > 1.2.07.8
                1.07-r1 < 1.07.5
                1.1a < 1.3a
                4.3_p2-r5 < 4.4_p1-r6
                4.5_p1 < 4.5_p1-r1
                0.9.8c-r1 < 0.9.8d
                0.20070207_rc1 < 1.0
                8.2.0 < 8.2.001
                8.2.0015 < 8.2.002
                1.0~1234 < 1.0~2345
                1.0~1234-r1 < 1.0~2345-r0
                1.0~1234-r1 > 1.0~1234-r0
                """);
    }

    /** Shapes of aports package versions around security fixes. */
    static Stream<Arguments> realistic() {
        return OrderingTables.rows("""
                1.2.3-r0 < 1.2.3-r1
                1.2.3-r9 < 1.2.3-r10
                1.2_rc1 < 1.2
                1.2 < 1.2_p1
                1.2a < 1.2b
                1.2_alpha < 1.2_beta
                1.2_beta < 1.2_pre
                1.2_pre < 1.2_rc
                1.2_p1 < 1.2.1
                1.2_git20240101 < 1.2_p1
                1.2_cvs < 1.2_svn
                1.2_svn < 1.2_git
                1.2_git < 1.2_hg
                1.2_hg < 1.2_p
                3.3.2-r0 < 3.3.2-r1
                8.11.1-r0 > 8.9.1-r1
                1.36.1-r29 < 1.37.0-r0
                2.12.6-r0 < 2.12.10-r0
                3.1.7_p1-r0 > 3.1.7-r0
                1.2.3-r1 = 1.2.3-r01
                """);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource({"apkToolsVectors", "realistic"})
    void ordersLikeApk(String a, String op, String b) {
        assertRelation(alpine, a, op, b);
    }

    @Test
    void suffixesRankAroundTheRelease() {
        assertAscending(alpine, "1.0_alpha", "1.0_alpha1", "1.0_beta", "1.0_beta2", "1.0_pre1", "1.0_rc1", "1.0",
                "1.0-r1", "1.0_cvs", "1.0_svn", "1.0_git", "1.0_hg", "1.0_p1", "1.0_p2", "1.0a", "1.0.1");
    }

    @Test
    void validityFollowsApkTools() {
        // apk-tools test vectors, then common package versions.
        for (String good : new String[] {"1.2", "0.1_pre2", "0.1_pre2~1234abcd", "0.1_p1_pre2", "0.1_alpha1_pre2",
                "0.1_git20240101_pre1", "1.2.3-r0", "2.3.0b-r4", "1.0~1234-r1", "20240101"}) {
            assertThat(alpine.isValid(good)).as("'%s'", good).isTrue();
        }
        for (String bad : new String[] {"", "0.1bc", "0.1bc1", "0.1a1", "0.1a.1", "0.1_pre2~", "0.1_pre2~1234xbcd",
                "0.1_pre2~1234abcd_pre1", "0.1_pre2-r1~1234xbcd", "0.1_foobar", "0.1_foobar1", "0.1-pre1.1", "0.1-r",
                "0.1-r2_pre1", "0.1-r2_p3_pre1", "0.1-r2-r3", "0.1-r2.1", ".1", "a", "_pre1", "-r1", "0.1_", "0.1_-r0",
                "0.1__alpha", "0.1_1_alpha", "1.0.", "1.0A", "1.0 ", null}) {
            assertThat(alpine.isValid(bad)).as("'%s'", bad).isFalse();
        }
    }

    @Test
    void invalidTailsSortBelowAnyValidContinuationAndStayDistinct() {
        assertRelation(alpine, "1.0_foo", "<", "1.0");
        assertRelation(alpine, "1.0_foo", ">", "1.0_rc1");
        assertRelation(alpine, "abc", "<", "0");
        assertRelation(alpine, "abc", "<", "abd");
        assertRelation(alpine, "1.0_bar", "<", "1.0_foo");
    }
}
