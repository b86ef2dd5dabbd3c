package io.buildgateway.shared;

import java.time.Instant;

/**
 * The instants the gateway accepts from a request (a time filter, a page cursor, an advisory's dates): years 1 to
 * 9999. {@link Instant#parse} reads years up to ±999,999,999, which {@code java.sql.Timestamp} cannot hold (it throws)
 * and PostgreSQL's {@code timestamptz} refuses beyond year 294,276; a request naming one is the request's fault, a
 * 400, never a 500 from the database layer.
 */
public final class Instants {

    public static final Instant EARLIEST = Instant.parse("0001-01-01T00:00:00Z");
    public static final Instant LATEST = Instant.parse("9999-12-31T23:59:59.999999Z");

    private Instants() {
    }

    /** Whether the instant lies in years 1 to 9999 (what every column of the gateway stores and every client reads). */
    public static boolean storable(Instant instant) {
        return !instant.isBefore(EARLIEST) && !instant.isAfter(LATEST);
    }

    /** The instant, when {@link #storable}; else {@link IllegalArgumentException} (a cursor that is no cursor). */
    public static Instant requireStorable(Instant instant) {
        if (!storable(instant)) {
            throw new IllegalArgumentException("beyond the years 1 to 9999");
        }
        return instant;
    }
}
