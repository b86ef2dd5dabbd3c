package io.buildgateway.scanning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class OsvTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static Osv parse(String json) {
        return Osv.parse(JSON.readTree(json), 0);
    }

    @Test
    void aDebianAdvisoryWithUrgencyAndAGhsaWithCvss() {
        Osv dsa = parse("""
                {"id":"DSA-5678-1","modified":"2024-05-01T10:00:00.123Z","published":"2024-04-30T00:00:00Z",
                 "aliases":["CVE-2024-2961"],"summary":"glibc security update",
                 "affected":[{"package":{"ecosystem":"Debian:12","name":"glibc"},
                   "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.36-9+deb12u6"}]}],
                   "ecosystem_specific":{"urgency":"high"}}]}
                """);
        assertThat(dsa.modified()).isEqualTo(Instant.parse("2024-05-01T10:00:00.123Z"));
        assertThat(dsa.aliases()).containsExactly("CVE-2024-2961");
        assertThat(dsa.severity()).isEqualTo("unknown");
        assertThat(dsa.affected().get(0).severity()).isEqualTo("high");
        assertThat(dsa.affected().get(0).ranges().get(0).events()).hasSize(2);

        Osv ghsa = parse("""
                {"id":"GHSA-aaaa-bbbb-cccc","modified":"2024-01-01T00:00:00Z",
                 "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                 "database_specific":{"severity":"MODERATE"},
                 "affected":[{"package":{"ecosystem":"Maven","name":"org.x:y"},"versions":["1.0"]}]}
                """);
        assertThat(ghsa.severity()).isEqualTo("critical");
        assertThat(ghsa.affected().get(0).versions()).containsExactly("1.0");
        assertThat(parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\","
                + "\"database_specific\":{\"severity\":\"MODERATE\"}}").severity()).isEqualTo("medium");
    }

    @Test
    void brokenDocumentsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> parse("{\"modified\":\"2024-01-01T00:00:00Z\"}")).hasMessageContaining("'id'");
        assertThatThrownBy(() -> parse("{\"id\":\"X\"}")).hasMessageContaining("'modified'");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"soon\"}")).hasMessageContaining("RFC 3339");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"name\":\"y\"}}]}")).hasMessageContaining("ecosystem");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"y\"},\"ranges\":[{\"type\":\"SEMVER\","
                + "\"events\":[{\"broken\":\"1\"}]}]}]}")).hasMessageContaining("broken");
        assertThatThrownBy(() -> parse("[1]")).hasMessageContaining("object");
    }

    // Found by a review (2026-12-06): values the database refuses were a 500 at the import (a timestamp beyond what
    // java.sql.Timestamp or PostgreSQL holds, U+0000, a value longer than its column). Refused with the reason now.
    @Test
    void valuesTheDatabaseCannotHoldAreRefusedWithTheReason() {
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"+999999999-12-31T00:00:00Z\"}"))
                .isInstanceOf(Osv.InvalidAdvisory.class).hasMessageContaining("years 1 and 9999");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"published\":"
                + "\"-000001-01-01T00:00:00Z\"}")).hasMessageContaining("'published'");
        assertThatThrownBy(() -> parse("{\"id\":\"X\\u0000\",\"modified\":\"2024-01-01T00:00:00Z\"}"))
                .hasMessageContaining("U+0000");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"details\":"
                + "{\"a\\u0000\":1}}")).hasMessageContaining("U+0000");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"" + "e".repeat(65) + "\",\"name\":\"y\"}}]}"))
                .hasMessageContaining("at most 64");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"" + "n".repeat(513) + "\"}}]}"))
                .hasMessageContaining("at most 512");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"y\"},\"ranges\":[{\"type\":\"SEMVER\","
                + "\"events\":[{\"fixed\":\"" + "1".repeat(257) + "\"}]}]}]}")).hasMessageContaining("256");
        // the bounds themselves are fine
        assertThat(parse("{\"id\":\"X\",\"modified\":\"9999-12-31T00:00:00Z\",\"affected\":[{\"package\":"
                + "{\"ecosystem\":\"" + "e".repeat(64) + "\",\"name\":\"" + "n".repeat(512) + "\"}}]}").modified())
                .isEqualTo(Instant.parse("9999-12-31T00:00:00Z"));
    }

    // Found by OsvFuzzTest (seed non-string-values): an object where a string belongs made the node's coercion throw,
    // and the import answered 500. Refused with the reason now; scalars stay read as before.
    @Test
    void anObjectWhereAStringBelongsIsRefusedNotACrash() {
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"aliases\":[{\"x\":1}]}"))
                .isInstanceOf(Osv.InvalidAdvisory.class).hasMessageContaining("'aliases'");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"y\"},\"versions\":[[\"1\"]]}]}"))
                .isInstanceOf(Osv.InvalidAdvisory.class).hasMessageContaining("'versions'");
        assertThatThrownBy(() -> parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"y\"},\"ranges\":[{\"type\":\"SEMVER\","
                + "\"events\":[{\"fixed\":{\"a\":1}}]}]}]}"))
                .isInstanceOf(Osv.InvalidAdvisory.class).hasMessageContaining("'fixed'");
        Osv numbers = parse("{\"id\":\"X\",\"modified\":\"2024-01-01T00:00:00Z\",\"affected\":"
                + "[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"y\"},\"versions\":[1.5]}]}");
        assertThat(numbers.affected().get(0).versions()).containsExactly("1.5");
    }
}
