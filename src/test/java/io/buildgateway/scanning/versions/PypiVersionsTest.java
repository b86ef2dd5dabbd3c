package io.buildgateway.scanning.versions;

import static io.buildgateway.scanning.versions.OrderingTables.assertAscending;
import static io.buildgateway.scanning.versions.OrderingTables.assertRelation;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PypiVersionsTest {

    private final PypiVersions pypi = new PypiVersions();

    @Test
    void orderingExampleOfPep440() {
        // PEP 440, "Summary of permitted suffixes and relative ordering".
        assertAscending(pypi, "1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
                "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0",
                "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1");
    }

    @Test
    void localLabelsAndEpochsLikeThePackagingLibrary() {
        assertAscending(pypi, "1.0b2.post345", "1.0b2-346", "1.0c1.dev456", "1.0c1", "1.0rc2", "1.0c3", "1.0",
                "1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def", "1.2+1234.abc", "1.2+123456",
                "1.2.r32+123456", "1.2.rev33+123456", "1!1.0.dev456", "1!1.0a1", "1!1.0", "1!1.0+5");
    }

    /** PEP 440's normalisation rules and ordering corners, each answer checked with packaging 26.2's Version. */
    static Stream<Arguments> likePackaging() {
        return OrderingTables.rows("""
                1.1RC1 = 1.1rc1
                00 = 0
                1.0 = 1.0.0
                1.1.a1 = 1.1a1
                1.1-a1 = 1.1a1
                1.1_a1 = 1.1a1
                1.0a.1 = 1.0a1
                1.1alpha1 = 1.1a1
                1.1beta2 = 1.1b2
                1.1c3 = 1.1rc3
                1.1pre1 = 1.1rc1
                1.1preview1 = 1.1rc1
                1.2a = 1.2a0
                1.2-post2 = 1.2.post2
                1.2post2 = 1.2.post2
                1.2.post.2 = 1.2.post2
                1.0-r4 = 1.0.post4
                1.0-rev4 = 1.0.post4
                1.2.post = 1.2.post0
                1.0-1 = 1.0.post1
                1.2-dev2 = 1.2.dev2
                1.2dev2 = 1.2.dev2
                1.2.dev = 1.2.dev0
                1.0+ubuntu-1 = 1.0+ubuntu.1
                1.0+ubuntu_1 = 1.0+ubuntu.1
                1.0+ABC = 1.0+abc
                v1.0 = 1.0
                1!1.0 > 2.0
                1.0rc1 < 1.0c2
                1.0.post1.dev1 < 1.0.post1
                1.0.post1.dev1 > 1.0
                1.0a1.post1.dev1 < 1.0a1.post1
                1.0.dev1 < 1.0a1
                1.0+1 > 1.0+a
                1.0+a.1 > 1.0+a
                1.0+01 = 1.0+1
                2.0.0 > 1.99999999999999999999
                10 > 9
                """);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("likePackaging")
    void ordersLikePackaging(String a, String op, String b) {
        assertRelation(pypi, a, op, b);
    }

    @Test
    void validityIsThePep440Grammar() {
        for (String good : new String[] {"1", "1.0", "1!2.0", "1.0a1", "1.0.post1", "1.0.dev1", "1.0+local.7",
                "V1.0", " 1.0 ", "2024.1.15", "1.0-1"}) {
            assertThat(pypi.isValid(good)).as("'%s'", good).isTrue();
        }
        for (String bad : new String[] {"", "foo", "1..0", "1.0+", "1.0-", "1.0a1a", "1.0+a..b", "1.0+é",
                "1.0.dev.1.2", "1.0_", "1.0 a1", "!1.0", null}) {
            assertThat(pypi.isValid(bad)).as("'%s'", bad).isFalse();
        }
    }

    @Test
    void invalidVersionsSortBelowAllValidOnes() {
        assertRelation(pypi, "foo", "<", "0.dev0");
        assertRelation(pypi, "bar", "<", "foo");
        assertRelation(pypi, null, "<", "0");
    }
}
