package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The request side of egress matching: hostile URLs against a typical allowlist. */
class AllowlistTest {

    private final Allowlist list = Allowlist.of(List.of("http://mirror.corp/debian/",
            "http://maven.corp:8081/repository/maven-public/", "https://pypi.corp/simple/"));

    private Allowlist.Verdict judge(String url) {
        return Allowlist.judge(list, url);
    }

    @Test
    void admitsAPathUnderAnEntryAndRecordsItNormalised() {
        Allowlist.Verdict v = judge("HTTP://Mirror.CORP:80/debian/pool/main/c/curl/curl_8.deb");
        assertThat(v.allowed()).isTrue();
        assertThat(v.url()).isEqualTo("http://mirror.corp/debian/pool/main/c/curl/curl_8.deb");
    }

    @Test
    void keepsTheQueryInTheRecordedUrl() {
        assertThat(judge("http://mirror.corp/debian/dists/x?y=1").url()).isEqualTo("http://mirror.corp/debian/dists/x?y=1");
    }

    @Test
    void admitsTheEntryItselfWithOrWithoutTheTrailingSlash() {
        assertThat(judge("http://mirror.corp/debian/").allowed()).isTrue();
        assertThat(judge("http://mirror.corp/debian").allowed()).isTrue();
    }

    @Test
    void aPrefixEndsAtASegmentBoundary() {
        Allowlist.Verdict v = judge("http://mirror.corp/debian-secret/key");
        assertThat(v.allowed()).isFalse();
        assertThat(v.reason()).isEqualTo("not in the egress allowlist");
        assertThat(judge("http://mirror.corp/debianx").allowed()).isFalse();
    }

    @Test
    void theDefaultPortIsThePortOfTheEntry() {
        assertThat(judge("http://mirror.corp:8080/debian/x").allowed()).isFalse();
        assertThat(judge("http://maven.corp/repository/maven-public/a.jar").allowed()).isFalse();
        assertThat(judge("http://maven.corp:8081/repository/maven-public/a.jar").allowed()).isTrue();
    }

    @Test
    void theSchemeMustMatch() {
        assertThat(judge("https://mirror.corp/debian/x").allowed()).isFalse();
        assertThat(judge("ftp://mirror.corp/debian/x").allowed()).isFalse();
    }

    @Test
    void otherHostsAndLookalikesAreRefused() {
        assertThat(judge("http://mirror.corp.evil/debian/x").allowed()).isFalse();
        assertThat(judge("http://evil.mirror.corp/debian/x").allowed()).isFalse();
        assertThat(judge("http://mirror.corp./debian/x").allowed()).isTrue(); // the root label is the same host
        assertThat(judge("http://127.0.0.1/debian/x").allowed()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "http://mirror.corp/debian/../secret",
            "http://mirror.corp/debian/./x",
            "http://mirror.corp/debian/..",
            "http://mirror.corp/debian/%2e%2e/secret",
            "http://mirror.corp/debian/%2E%2E/secret",
            "http://mirror.corp/debian/.%2e/secret",
            "http://mirror.corp/debian%2f..%2fsecret",
            "http://mirror.corp/debian/%2F",
            "http://mirror.corp/debian/..%5csecret",
            "http://mirror.corp/debian/..%5Csecret",
            "http://mirror.corp/debian/..\\secret",
            "http://mirror.corp/debian/%00",
            "http://mirror.corp/debian/%zz",
            "http://mirror.corp/debian/%2",
            "http://mirror.corp/debian/a b",
            "http://mirror.corp/debian/\u00e9",
            "http://mirror.corp/debian/x#frag",
            "http://mirror.corp:0/debian/x",
            "http://mirror.corp:99999/debian/x",
            "http://mirror.corp:80x/debian/x",
            "/debian/x",
            "mirror.corp/debian/x"})
    void refusesPathsAMirrorCouldReadDifferently(String url) {
        assertThat(judge(url).allowed()).as(url).isFalse();
    }

    @Test
    void aTargetNotInAbsoluteFormShowsNoUserinfoEither() {
        // One slash after the scheme: no authority can be told, so every segment ending in '@' is redacted.
        Allowlist.Verdict v = judge("http:/user:secret@mirror.corp/debian/x");
        assertThat(v.allowed()).isFalse();
        assertThat(v.url()).doesNotContain("secret").doesNotContain("user").contains("***@");
        assertThat(Allowlist.withoutUserinfo("mirror.corp/a:secret@b/c?q=d@e")).isEqualTo("mirror.corp/***@b/c?q=d@e");
        // A later "://" does not make what comes before it a scheme.
        assertThat(judge("h:secret@//mirror.corp/x://y").url()).doesNotContain("secret");
    }

    @Test
    void refusesUserinfoAndNeverRecordsIt() {
        Allowlist.Verdict v = judge("http://user:hunter2@mirror.corp/debian/x");
        assertThat(v.allowed()).isFalse();
        assertThat(v.reason()).contains("userinfo");
        assertThat(v.url()).doesNotContain("hunter2").doesNotContain("user:").contains("mirror.corp/debian/x");
        // an @ in the userinfo itself, and one that hides the real host
        assertThat(judge("http://mirror.corp@evil.corp/debian/x").allowed()).isFalse();
        assertThat(judge("http://a@b:pw@mirror.corp/debian/x").url()).doesNotContain("pw");
    }

    @Test
    void anEncodedCharacterThatIsNotASeparatorIsJustAPathCharacter() {
        assertThat(judge("http://mirror.corp/debian/pool/g%2B%2B_12.deb").allowed()).isTrue();
    }

    @Test
    void tunnelsOnlyToHttpsEntriesByHostAndPort() {
        assertThat(Allowlist.judgeTunnel(list, "pypi.corp:443").allowed()).isTrue();
        assertThat(Allowlist.judgeTunnel(list, "PyPI.corp:443").url()).isEqualTo("pypi.corp:443");
        assertThat(Allowlist.judgeTunnel(list, "pypi.corp:8443").allowed()).isFalse();
        assertThat(Allowlist.judgeTunnel(list, "mirror.corp:80").allowed()).isFalse();
        assertThat(Allowlist.judgeTunnel(list, "mirror.corp:443").allowed()).isFalse();
        assertThat(Allowlist.judgeTunnel(list, "pypi.corp").allowed()).isFalse();
        assertThat(Allowlist.judgeTunnel(list, "user@pypi.corp:443").allowed()).isFalse();
        assertThat(Allowlist.judgeTunnel(list, "evil.corp:443").allowed()).isFalse();
    }

    @Test
    void anEmptyAllowlistAdmitsNothing() {
        assertThat(Allowlist.judge(Allowlist.of(List.of()), "http://mirror.corp/debian/x").allowed()).isFalse();
    }
}
