package io.buildgateway.scanning.versions;

import static io.buildgateway.scanning.versions.OrderingTables.assertAscending;
import static io.buildgateway.scanning.versions.OrderingTables.assertRelation;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DebianVersionsTest {

    private final DebianVersions debian = new DebianVersions();

    /** The comparison table of dpkg's own test suite (scripts/t/Dpkg_Version.t, its __DATA__ section). */
    static Stream<Arguments> dpkgTestSuite() {
        return OrderingTables.rows("""
                1.0-1 < 2.0-2
                2.2~rc-4 < 2.2-1
                2.2-1 > 2.2~rc-4
                1.0000-1 = 1.0-1
                1 = 0:1
                0 = 0:0-0
                2:2.5 > 1:7.5
                1:0foo > 0foo
                0:0foo = 0foo
                0foo = 0foo
                0foo-0 = 0foo
                0foo = 0foo-0
                0foo > 0fo
                0foo-0 < 0foo+
                0foo~1 < 0foo
                0foo~foo+Bar < 0foo~foo+bar
                0foo~~ < 0foo~
                1~ < 1
                12345+that-really-is-some-ver-0 < 12345+that-really-is-some-ver-10
                0foo-0 < 0foo-01
                0foo.bar > 0foobar
                0foo.bar > 0foo1bar
                0foo.bar > 0foo0bar
                0foo1bar-1 < 0foobar-1
                0foo2.0 > 0foo2
                0foo2.0.0 < 0foo2.10.0
                0foo2.0 < 0foo2.0.0
                0foo2.0 < 0foo2.10
                0foo2.1 < 0foo2.10
                1.09 = 1.9
                1.0.8+nmu1 > 1.0.8
                3.11 > 3.10+nmu1
                0.9j-20080306-4 > 0.9i-20070324-2
                1.2.0~b7-1 > 1.2.0~b6-1
                1.011-1 > 1.06-2
                0.0.9+dfsg1-1 > 0.0.8+dfsg1-3
                4.6.99+svn6582-1 > 4.6.99+svn6496-1
                53 > 52
                0.9.9~pre122-1 > 0.9.9~pre111-1
                2:2.3.2-2+lenny2 > 2:2.3.2-2
                1:3.8.1-1 > 3.8.GA-1
                1.0.1+gpl-1 > 1.0.1-2
                1a < 1000a
                # lib/dpkg/t/t-version.c: equal parts, then epoch, upstream and revision differences
                0:0-00 = 0:00-0
                1:2-3 = 1:2-3
                0:0-0 < 1:0-0
                0:a-0 < 0:b-0
                0:0-a < 0:0-b
                """);
    }

    /**
     * Security-update shapes from Debian and Ubuntu (stable updates, backports, binNMUs, ubuntuN.M), each answer
     * checked with dpkg 1.21.22's --compare-versions when the table was written.
     */
    static Stream<Arguments> checkedWithDpkg() {
        return OrderingTables.rows("""
                2.36-9+deb12u4 < 2.36-9+deb12u10
                7.88.1-10+deb12u5 > 7.88.1-10
                3.0.11-1~deb12u2 < 3.0.11-1
                3.0.11-1~deb12u2 > 3.0.11-1~deb12u1
                1:9.18.24-1 > 9.18.28-1~deb12u2
                1:2.39.2-1.1 < 1:2.39.5-0+deb12u1
                2.9.14+dfsg-1.3~deb12u1 < 2.9.14+dfsg-1.3
                1.2.13.dfsg-1 < 1.2.13.dfsg-1+b1
                5.2.15-2+b7 > 5.2.15-2
                252.30-1~deb12u2 < 252.31-1~deb12u1
                2.30-12 < 2.30-12+deb12u1
                2.35-0ubuntu3.6 < 2.35-0ubuntu3.7
                2.35-0ubuntu3.10 > 2.35-0ubuntu3.9
                1.1.1f-1ubuntu2.22 > 1.1.1f-1ubuntu2
                3.0.2-0ubuntu1.15 > 3.0.2-0ubuntu1.10
                8.2p1-4ubuntu0.11 > 8.2p1-4ubuntu0.5
                1:8.9p1-3ubuntu0.10 > 8.9p1-3ubuntu0.10
                9.2p1-2+deb12u3 > 9.2p1-2
                1.0~rc1 > 1.0~beta2
                1.0~rc1 < 1.0
                1.0~rc1-1 < 1.0-1
                1:0.1 > 2.0
                1.0-1 < 1.0-1.1
                1.0+git20240101-1 > 1.0-1
                1.0+git20240101-1 < 1.0.1-1
                1.0-1ubuntu1 > 1.0-1
                1.0-1ubuntu1 < 1.0-2
                1.0-1build1 > 1.0-1
                1.0-1+b1 < 1.0-1.1
                1.0.0 > 1.0
                1.0.0 < 1.0.a
                1.0a < 1.0+
                1.0a < 1.0.
                1.0-1~bpo12+1 < 1.0-1
                4.19.0-26 < 4.19.0-27
                6.1.0-28-amd64 > 6.1.0-9-amd64
                2:1.0 > 1:9.9
                0:1.0-1 = 1.0-1
                1.0-0 = 1.0
                1.01 = 1.1
                1.0.9 < 1.0.10
                20231101 > 20230101
                """);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource({"dpkgTestSuite", "checkedWithDpkg"})
    void ordersLikeDpkg(String a, String op, String b) {
        assertRelation(debian, a, op, b);
    }

    @Test
    void tildeSortsBeforeEvenTheEndOfTheString() {
        // Debian Policy 5.6.12's example, on the bare parts verrevcmp compares ...
        assertThat(DebianVersions.verrevcmp("~~", "~~a")).isNegative();
        assertThat(DebianVersions.verrevcmp("~~a", "~")).isNegative();
        assertThat(DebianVersions.verrevcmp("~", "")).isNegative();
        // ... and on whole versions, with letters before the other punctuation.
        assertAscending(debian, "1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a", "1.0+", "1.0.", "1.0.1");
        // An empty digit run counts as zero.
        assertRelation(debian, "1.0.", "=", "1.0.0");
    }

    @Test
    void digitRunsCompareByValueWhateverTheirLength() {
        assertAscending(debian, "1.9", "1.10", "1.99999999999999999999", "1.100000000000000000000");
        assertRelation(debian, "1.000000000000000000000001", "=", "1.1");
    }

    @Test
    void validityFollowsDpkgParseversion() {
        // lib/dpkg/t/t-version.c and Dpkg_Version.t: accepted ...
        for (String good : new String[] {"0", "0:0", "0:0-0", "0:0.0-0.0", "1:0", "5:1", "0:0-0-0", "0:0-0-0-0",
                "0:0:0-0", "0:0:0:0-0", "0:0:0-0-0", "0:0-0:0-0", "0:09azAZ.-+~:-0", "0:0-azAZ09.+~", "  \t0:0-1",
                "0:0-1\t  ", "1:1.0:1.0", "1.0-1.0-1", "2147483647:1", "1~"}) {
            assertThat(debian.isValid(good)).as("'%s'", good).isTrue();
        }
        // ... and rejected, with errors or with warnings.
        for (String bad : new String[] {"", "  ", "0:", "0:0 0-1", "-1:0-1", "999999999999999999999999:0-1", "a:0-0",
                "A:0-0", "-0", "0:-0", "0:abc3-0", "0:0!-0", "0:0_-0", "0:0-0:0", "0:0-0_", "10a:5.2", "5.2@3-2",
                "foo5.2", "0:foo5.2", "1.0-", "1.0:1", "2147483648:1", null}) {
            assertThat(debian.isValid(bad)).as("'%s'", bad).isFalse();
        }
    }

    @Test
    void invalidVersionsStillCompareLikeDpkgCompareVersions() {
        // dpkg only warns about these and orders them by the same rules.
        assertRelation(debian, "abc", "<", "abd");
        assertRelation(debian, "abc", ">", "1.0");
        assertRelation(debian, "a:1.0", ">", "1.0");
        assertRelation(debian, "", "<", "1");
        assertRelation(debian, null, "=", "");
    }
}
