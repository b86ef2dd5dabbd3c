package io.buildgateway.egress;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Fuzz target for egress matching: a request URL comes from a build step, so it is hostile. Properties: judging
 * never throws; an admitted URL is judged the same when sent again as recorded (normalisation is stable), has no
 * userinfo, no dot segment and no encoded separator, and lies under an entry at a segment boundary; a refused URL
 * never shows a password of its userinfo (where an unreadable target's userinfo cannot be told, none before its
 * query). Seeds beside this class.
 */
class AllowlistFuzzTest {

    private static final Allowlist LIST = Allowlist.of(List.of("http://mirror.corp/debian/",
            "http://[::1]:8081/m2/", "https://pypi.corp/simple/"));

    @FuzzTest(maxDuration = "60s")
    void requestIsJudgedNeverThrown(byte[] input) {
        String url = new String(input, StandardCharsets.ISO_8859_1);
        Allowlist.Verdict v = Allowlist.judge(LIST, url);
        if (v.allowed()) {
            assertThat(Allowlist.judge(LIST, v.url())).isEqualTo(v);
            String rest = v.url().substring(v.url().indexOf("://") + 3);
            String path = rest.substring(rest.indexOf('/'));
            if (path.indexOf('?') >= 0) {
                path = path.substring(0, path.indexOf('?'));
            }
            assertThat(path.toLowerCase()).doesNotContain("%2e").doesNotContain("%2f").doesNotContain("%5c")
                    .doesNotContain("/../").doesNotContain("/./").doesNotContain("\\").doesNotEndWith("/..");
            String under = beforeQuery(v.url()) + "/"; // the entry's folder itself may be asked with a query
            assertThat(under.startsWith("http://mirror.corp/debian/") || under.startsWith("http://[::1]:8081/m2/")
                    || under.startsWith("https://pypi.corp/simple/")).as(v.url()).isTrue();
            assertThat(rest.substring(0, rest.indexOf('/'))).doesNotContain("@");
        } else {
            assertThat(v.reason()).isNotBlank();
            // Userinfo is never shown: in an absolute URL, a password in its authority; in anything else (where the
            // authority cannot be told), one anywhere before the query. A path's or a query's own text is the
            // request's, recorded as it was asked for.
            java.util.regex.Matcher absolute = ABSOLUTE.matcher(url);
            String userinfoZone = absolute.lookingAt() ? absolute.group(1) : beforeQuery(url);
            if (userinfoZone.contains(":secret@")) {
                assertThat(beforeQuery(v.url())).doesNotContain(":secret@");
            }
        }
        Allowlist.judgeTunnel(LIST, url);
    }

    /** scheme://authority, the authority up to the first '/', '?' or '#'. */
    private static final java.util.regex.Pattern ABSOLUTE = java.util.regex.Pattern.compile(
            "[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)");

    private static String beforeQuery(String s) {
        int q = s.indexOf('?');
        return q < 0 ? s : s.substring(0, q);
    }
}
