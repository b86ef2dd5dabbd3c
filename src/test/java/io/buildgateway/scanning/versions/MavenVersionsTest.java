package io.buildgateway.scanning.versions;

import static io.buildgateway.scanning.versions.OrderingTables.assertAscending;
import static io.buildgateway.scanning.versions.OrderingTables.assertRelation;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class MavenVersionsTest {

    private final MavenVersions maven = new MavenVersions();

    static Stream<Arguments> classics() {
        return OrderingTables.rows("""
                1.0-alpha-1 < 1.0
                1.0-SNAPSHOT < 1.0
                1.0 = 1.0.0
                1.0-rc1 < 1.0
                1.0-RC1 = 1.0-rc1
                1.0-a1 = 1.0-alpha-1
                1.0-b2 = 1.0-beta-2
                1.0-m3 = 1.0-milestone-3
                1.0-alpha-2 < 1.0-alpha-10
                1.0.0.Final = 1.0.0
                1.0-1 > 1.0
                1.0.1 > 1.0-sp1
                2.9.10.8 < 2.10.0
                2.17.0 < 2.17.1
                32.0.0-jre < 32.0.1-android
                9.4.53.v20231009 < 9.4.54.v20240208
                5.3.39 < 6.0.0-M1
                6.0.0-M1 < 6.0.0-RC1
                """);
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("classics")
    void ordersLikeMaven(String a, String op, String b) {
        assertRelation(maven, a, op, b);
    }

    @Test
    void qualifiersRankAsMavenDocumentsThem() {
        assertAscending(maven, "1-alpha", "1-beta", "1-milestone", "1-rc", "1-snapshot", "1", "1-sp", "1-foo", "1.1");
        assertRelation(maven, "1-rc", "=", "1-cr");
        assertRelation(maven, "1", "=", "1-ga");
        assertRelation(maven, "1", "=", "1-final");
        assertRelation(maven, "1", "=", "1-release");
    }

    @Test
    void anyNonBlankTokenIsAVersion() {
        assertThat(maven.isValid("1.0-jre")).isTrue();
        assertThat(maven.isValid("latest")).isTrue();
        for (String bad : new String[] {"", " ", "1.0 beta", null}) {
            assertThat(maven.isValid(bad)).as("'%s'", bad).isFalse();
        }
        assertRelation(maven, null, "=", "");
        assertRelation(maven, " 1.0 ", "=", "1.0");
    }
}
