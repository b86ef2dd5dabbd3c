package io.buildgateway.scanning.versions;

/** The version order of one package ecosystem. Implementations are stateless and thread-safe. */
public interface VersionOrdering {

    /** negative, zero, positive like Comparator; must be a total order over valid versions */
    int compare(String a, String b);

    /**
     * whether the string is a version this ecosystem can order; invalid ones must never throw from compare: define a
     * safe fallback
     */
    boolean isValid(String version);
}
