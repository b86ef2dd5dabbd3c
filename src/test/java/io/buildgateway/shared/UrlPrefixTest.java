package io.buildgateway.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The policy side of egress matching: an entry means exactly what it says, or the policy does not load. */
class UrlPrefixTest {

    @Test
    void parsesSchemeHostDefaultPortAndPath() {
        UrlPrefix p = UrlPrefix.parse("http://mirror.corp/debian/");
        assertThat(p).isEqualTo(new UrlPrefix("http", "mirror.corp", 80, "/debian/"));
        assertThat(UrlPrefix.parse("https://Maven.Corp/repository/").port()).isEqualTo(443);
        assertThat(UrlPrefix.parse("https://Maven.Corp/repository/").host()).isEqualTo("maven.corp");
        assertThat(UrlPrefix.parse("http://127.0.0.1:8081/m2/").toString()).isEqualTo("http://127.0.0.1:8081/m2/");
        assertThat(UrlPrefix.parse("http://[::1]:8081/m2/").host()).isEqualTo("::1");
    }

    @Test
    void aPathWithoutTrailingSlashStillEndsAtASegment() {
        UrlPrefix p = UrlPrefix.parse("http://mirror.corp/debian");
        assertThat(p.path()).isEqualTo("/debian/");
        assertThat(p.admits("http", "mirror.corp", 80, "/debian-secret/x")).isFalse();
        assertThat(p.admits("http", "mirror.corp", 80, "/debian/x")).isTrue();
        assertThat(UrlPrefix.parse("http://mirror.corp").path()).isEqualTo("/");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "mirror.corp/debian/", "ftp://mirror.corp/", "HTTP://mirror.corp/",
            "http://user:pw@mirror.corp/", "http://user@mirror.corp/", "http://mirror.corp/debian/?x=1",
            "http://mirror.corp/debian/#top", "http://mirror.corp/debian/../", "http://mirror.corp/./debian/",
            "http://mirror.corp/debian/%2e%2e/", "http://mirror.corp/a%2Fb/", "http://mirror.corp/a%5cb/",
            "http://mirror.corp/a\\b/", "http://mirror.corp/a b/", "http://mirror.corp:0/", "http://mirror.corp:65536/",
            "http://mirror.corp:x/", "http:///debian/", "http://-bad.corp/", "http://bad_host.corp/",
            "http://[::1/", "http://mirror.corp/%zz/"})
    void refusesAnEntryThatIsNotAPlainPrefix(String entry) {
        assertThatThrownBy(() -> UrlPrefix.parse(entry)).as(entry).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theMessageNamesTheEntry() {
        assertThatThrownBy(() -> UrlPrefix.parse("http://u:secret@mirror.corp/"))
                .hasMessageContaining("userinfo");
    }
}
