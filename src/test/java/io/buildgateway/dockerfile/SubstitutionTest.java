package io.buildgateway.dockerfile;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SubstitutionTest {

    private final Map<String, String> vars = new HashMap<>(Map.of("A", "a", "EMPTY", ""));

    private String expand(String word) {
        return Substitution.expand(word, vars::get, '\\');
    }

    @Test
    void expandsPlainAndBracedNames() {
        assertThat(expand("$A/${A}x$A_")).isEqualTo("a/ax");
        assertThat(expand("$UNSET-${UNSET}")).isEqualTo("-");
    }

    @Test
    void supportsDefaultAndAlternativeModifiers() {
        assertThat(expand("${UNSET:-d}")).isEqualTo("d");
        assertThat(expand("${EMPTY:-d}")).isEqualTo("d");
        assertThat(expand("${EMPTY-d}")).isEqualTo("");
        assertThat(expand("${UNSET-d}")).isEqualTo("d");
        assertThat(expand("${A:+alt}")).isEqualTo("alt");
        assertThat(expand("${EMPTY:+alt}")).isEqualTo("");
        assertThat(expand("${EMPTY+alt}")).isEqualTo("alt");
        assertThat(expand("${UNSET:-${A}b}")).isEqualTo("ab");
    }

    @Test
    void supportsPrefixSuffixAndReplacementPatterns() {
        vars.put("IMG", "registry.local/base/debian:12-slim");
        assertThat(expand("${IMG#*/}")).isEqualTo("base/debian:12-slim");
        assertThat(expand("${IMG##*/}")).isEqualTo("debian:12-slim");
        assertThat(expand("${IMG%:*}")).isEqualTo("registry.local/base/debian");
        assertThat(expand("${IMG%%/*}")).isEqualTo("registry.local");
        assertThat(expand("${IMG%-sl?m}")).isEqualTo("registry.local/base/debian:12");
        assertThat(expand("${IMG/debian/alpine}")).isEqualTo("registry.local/base/alpine:12-slim");
        assertThat(expand("${IMG/registry.local/$A}")).isEqualTo("a/base/debian:12-slim");
        assertThat(expand("${UNSET#x}")).isEqualTo("");
        assertThat(expand("${IMG#nomatch}")).isEqualTo("registry.local/base/debian:12-slim");
    }

    @Test
    void escapesAndSingleQuotesAreLiteral() {
        assertThat(expand("\\$A")).isEqualTo("$A");
        assertThat(expand("'$A'")).isEqualTo("$A");
        assertThat(expand("\"$A\"")).isEqualTo("a");
        assertThat(Substitution.expand("`$A", vars::get, '`')).isEqualTo("$A");
    }

    @Test
    void outputIsBounded() {
        String nested = "${X:-".repeat(1000) + "y" + "}".repeat(1000);
        assertThat(expand(nested).length()).isLessThanOrEqualTo(64 * 1024);
    }

    /** BuildKit's readings (a review's finding, 2026-12-07; BuildKitOracleRefusalIT builds them on a real BuildKit). */
    @Test
    void readsTheColonTrimsAndReplaceAllAsBuildKitDoes() {
        vars.put("IMG", "registry.local/base/debian:12.5");
        assertThat(expand("${IMG:#registry.local/base/}")).isEqualTo("debian:12.5");
        assertThat(expand("${IMG:##*/}")).isEqualTo("debian:12.5");
        assertThat(expand("${IMG:%:*}")).isEqualTo("registry.local/base/debian");
        assertThat(expand("${IMG//12.5/12.1}")).isEqualTo("registry.local/base/debian:12.1");
        assertThat(expand("${IMG//e/E}")).isEqualTo("rEgistry.local/basE/dEbian:12.5");
        assertThat(expand("${IMG/e/E}")).isEqualTo("rEgistry.local/base/debian:12.5");
        assertThat(expand("${UNSET//a/b}")).isEmpty();
        // An escaped '/' belongs to the pattern (BuildKit on dockerd 26: these two labels read so).
        vars.put("REF", "reg.local/base/debian:12.5");
        assertThat(expand("${REF//\\//}")).isEqualTo("reg.localbasedebian:12.5");
        assertThat(expand("${REF/\\//.attacker.example/}")).isEqualTo("reg.local.attacker.example/base/debian:12.5");
        // With # escape=` the pair `/ stays two characters of BuildKit's pattern (its pattern reader knows only \\).
        assertThat(Substitution.expand("${REF//`//}", vars::get, '`')).isEqualTo("reg.local/base/debian:12.5");
    }
}
