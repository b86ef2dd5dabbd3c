package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The web layer's last resort for what the database refuses about a request's values, and the bounds before it. */
class RefusedByDatabaseTest {

    @Test
    void aDataExceptionIsTheRequestsValueAndAUniqueViolationAConflictWhateverWrapsThem() {
        // value too long (22001), U+0000 (22021), timestamp out of range (22008), as Spring and Hibernate wrap them
        for (String state : new String[] {"22001", "22021", "22008", "22P02"}) {
            Problem p = RefusedByDatabase.of(new IllegalStateException("could not execute statement",
                    new RuntimeException(new SQLException("ERROR: …", state))));
            assertThat(p).as(state).isNotNull();
            assertThat(p.status()).isEqualTo(400);
            assertThat(p.typeName()).isEqualTo("invalid-value");
            assertThat(p.detail()).doesNotContain("ERROR").doesNotContain("SQL");
        }
        Problem conflict = RefusedByDatabase.of(new RuntimeException(new SQLException("duplicate key", "23505")));
        assertThat(conflict.status()).isEqualTo(409);
        assertThat(conflict.typeName()).isEqualTo("conflict");
    }

    @Test
    void everythingElseStaysTheGatewaysFailure() {
        assertThat(RefusedByDatabase.of(new SQLException("deadlock", "40P01"))).isNull();
        assertThat(RefusedByDatabase.of(new SQLException("foreign key", "23503"))).isNull();
        assertThat(RefusedByDatabase.of(new SQLException("no state"))).isNull();
        assertThat(RefusedByDatabase.of(new NullPointerException())).isNull();
        // the first SQLException with a state decides: a data exception under a connection failure is not the request's
        assertThat(RefusedByDatabase.of(new SQLException("closed", "08006", new SQLException("x", "22001"))))
                .isNull();
    }

    @Test
    void instantsAreStorableFromYearOneToYear9999() {
        assertThat(Instants.storable(Instant.parse("0001-01-01T00:00:00Z"))).isTrue();
        assertThat(Instants.storable(Instant.parse("9999-12-31T23:59:59Z"))).isTrue();
        assertThat(Instants.storable(Instant.parse("+10000-01-01T00:00:00Z"))).isFalse();
        assertThat(Instants.storable(Instant.parse("0000-12-31T23:59:59Z"))).isFalse();
        assertThat(Instants.storable(Instant.MAX)).isFalse();
        assertThat(Instants.storable(Instant.MIN)).isFalse();
    }

    @Test
    void aValueQuotedBackAsNoDigestIsCutAtACodePoint() {
        String emoji = "\uD83D\uDE00";
        String quoted = Problem.quote("a".repeat(79) + emoji + "b");
        assertThat(quoted).isEqualTo("a".repeat(79) + emoji + "…");
        assertThat(Problem.quote("x\u0000y")).isEqualTo("x?y");
        assertThat(Problem.quote("short")).isEqualTo("short");
    }
}
