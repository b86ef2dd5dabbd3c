package io.buildgateway.scanning.versions;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/** Reads the ordering tables of the tests and checks rows in both directions. */
final class OrderingTables {

    private OrderingTables() {
    }

    /**
     * Rows of "a OP b" (OP one of {@code < = >}), one a line; blank lines and "#" comments are skipped. Versions cannot
     * contain spaces, which no ecosystem here allows anyway.
     */
    static Stream<Arguments> rows(String table) {
        List<Arguments> rows = new ArrayList<>();
        for (String line : table.split("\n")) {
            String row = line.strip();
            if (row.isEmpty() || row.startsWith("#")) {
                continue;
            }
            String[] cells = row.split("\\s+");
            if (cells.length != 3 || !"<=>".contains(cells[1]) || cells[1].length() != 1) {
                throw new IllegalArgumentException("not a row of 'a OP b': " + row);
            }
            rows.add(Arguments.of(cells[0], cells[1], cells[2]));
        }
        return rows.stream();
    }

    /** Checks a OP b, and the mirror relation b OP' a, so a comparator that ignores its argument order fails. */
    static void assertRelation(VersionOrdering ordering, String a, String op, String b) {
        int expected = switch (op) {
            case "<" -> -1;
            case ">" -> 1;
            default -> 0;
        };
        assertThat(Integer.signum(ordering.compare(a, b))).as("%s %s %s", a, op, b).isEqualTo(expected);
        assertThat(Integer.signum(ordering.compare(b, a))).as("mirror of %s %s %s", a, op, b).isEqualTo(-expected);
    }

    /** Every earlier version is below every later one, not only its neighbour. */
    static void assertAscending(VersionOrdering ordering, String... versions) {
        for (int i = 0; i < versions.length; i++) {
            assertThat(ordering.compare(versions[i], versions[i])).as("%s = itself", versions[i]).isZero();
            for (int j = i + 1; j < versions.length; j++) {
                assertRelation(ordering, versions[i], "<", versions[j]);
            }
        }
    }
}
