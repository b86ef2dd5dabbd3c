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

    /**
     * BuildKit's readings found by {@code SubstitutionDifferentialIT} on dockerd 26 (2026-12-07), where the policy
     * used to judge another value than the one built: digits and special parameters are names (empty), the escape
     * character in double quotes escapes only {@code "}, {@code $} and itself, a trailing one is dropped.
     */
    @Test
    void digitsAndSpecialParametersAreNamesAsBuildKitReadsThem() {
        assertThat(expand("a$1b$12c")).isEqualTo("abc");
        assertThat(expand("x$@$*$#$?$-$$$!$0y")).isEqualTo("xy");
        assertThat(expand("${1}${@}")).isEqualTo("");
        assertThat(expand("$%$/$")).isEqualTo("$%$/$");
        assertThat(expand("http:/$1/host/x")).isEqualTo("http://host/x");
        assertThat(expand("root$@")).isEqualTo("root");
    }

    @Test
    void theEscapeInDoubleQuotesEscapesOnlyQuoteDollarAndItself() {
        assertThat(expand("\"a\\nb\"")).isEqualTo("a\\nb");
        assertThat(expand("\"a\\\"b\\$A\\\\c\"")).isEqualTo("a\"b$A\\c");
        assertThat(expand("\"a\\'b\"")).isEqualTo("a\\'b");
        assertThat(expand("a\\nb")).isEqualTo("anb");
        assertThat(expand("ab\\")).isEqualTo("ab");
        assertThat(Substitution.expand("\"a`nb`$x\"", vars::get, '`')).isEqualTo("a`nb$x");
    }

    @Test
    void patternsKeepTheirEscapesAsBuildKitsRegexReadsThem() {
        vars.put("S", "*a*b");
        assertThat(expand("${S#\\*}")).isEqualTo("a*b");
        assertThat(expand("${S#*}")).isEqualTo("*a*b");
        assertThat(expand("${S##*\\*}")).isEqualTo("b");
        assertThat(expand("${S%\\*b}")).isEqualTo("*a");
        assertThat(expand("${S//\\*/-}")).isEqualTo("-a-b");
        // Go's ReplaceAllString reads the replacement as a template: $0 is the match, $$ a dollar, other names empty.
        assertThat(expand("${S//a/'$0$0'}")).isEqualTo("*aa*b");
        assertThat(expand("${S//a/'$$'}")).isEqualTo("*$*b");
        assertThat(expand("${S/a/'$0'}")).isEqualTo("*$0*b");
        // An empty match right after a match is skipped, as Go does.
        assertThat(expand("${S//*/x}")).isEqualTo("x");
    }

    @Test
    void patternsThatMayBeEmptyAreFoundWhateverTheQuoting() {
        assertThat(Substitution.emptyPatternCrash("A=${V#}")).isEqualTo("${V#}");
        assertThat(Substitution.emptyPatternCrash("A=${V%''} B")).isEqualTo("${V%''}");
        assertThat(Substitution.emptyPatternCrash("A=${V:#$W}")).isEqualTo("${V:#$W}");
        assertThat(Substitution.emptyPatternCrash("A='${##}'")).isEqualTo("${##}");
        assertThat(Substitution.emptyPatternCrash("A=${V%\"$W\"}")).isEqualTo("${V%\"$W\"}");
        assertThat(Substitution.emptyPatternCrash("A=${V%\"\"}")).isEqualTo("${V%\"\"}");
        assertThat(Substitution.emptyPatternCrash("A=${V#")).isEqualTo("${V#");
        // A name outside the BMP (two chars here) or of a newer Unicode version than Java's is still a name.
        assertThat(Substitution.emptyPatternCrash("A=${\uD835\uDC00#}")).isEqualTo("${\uD835\uDC00#}");
        assertThat(Substitution.emptyPatternCrash("A=${V\u0870#}")).isEqualTo("${V\u0870#}");
        assertThat(Substitution.emptyPatternCrash("A=${V##} ${V#v} ${V%%.*} ${V:-x} ${#} $V# ${V#\"x\"}")).isNull();
        // Where the gateway knows which variables may be empty (RUN: only those the file declares).
        assertThat(Substitution.emptyPatternCrash("echo ${f%$ext}", "Y"::equals)).isNull();
        assertThat(Substitution.emptyPatternCrash("echo ${f%${Y}}", "Y"::equals)).isEqualTo("${f%${Y}");
        assertThat(Substitution.emptyPatternCrash("echo ${f%}", "Y"::equals)).isEqualTo("${f%}");
        // A pattern that starts with a substitution of no name is empty ("${+a}" of the unset name ""); a bare '$'
        // with no name is a '$'.
        assertThat(Substitution.emptyPatternCrash("X=${HOME#${+a}}")).isEqualTo("${HOME#${+a}");
        assertThat(Substitution.emptyPatternCrash("echo ${l%$'\\r'}", n -> true)).isNull();
    }

    @Test
    void moreSubstitutionsThanTheDepthBoundAreFlagged() {
        assertThat(Substitution.mayNestTooDeep("${A}".repeat(Substitution.MAX_DEPTH))).isFalse();
        assertThat(Substitution.mayNestTooDeep("${A:-".repeat(Substitution.MAX_DEPTH + 1))).isTrue();
        String deep = "${A:-".repeat(Substitution.MAX_DEPTH - 1) + "x" + "}".repeat(Substitution.MAX_DEPTH - 1);
        assertThat(expand(deep)).isEqualTo("a");
        vars.remove("A");
        assertThat(expand(deep)).isEqualTo("x");
    }

    /**
     * A value past the output bound does not make the reading lose its place (a read-through's finding, 2026-12-07:
     * the inner ${…} stopped before its '}' and the level above read "}root", so USER root looked like another user).
     */
    @Test
    void theOutputBoundKeepsTheReadingInPlace() {
        vars.put("B", "a".repeat(80_000));
        vars.put("E", "");
        assertThat(expand("${E:+${B}x}root")).isEqualTo("root");
        assertThat(expand("${B:+\"${B}\"}z")).hasSize(64 * 1024);
        vars.put("IMG", "approved.io/base");
        assertThat(expand("${IMG/${E:+${B}x}approved.io/evil.io}")).isEqualTo("evil.io/base");
        assertThat(expand("'" + "q".repeat(70_000) + "'${E:-x}")).hasSize(64 * 1024);
    }

    /** Checked against dockerd 26's BuildKit by SubstitutionDifferentialIT (the files a COPY heredoc makes). */
    @Test
    void heredocBodiesKeepTheirQuotesAndTakeOnlyTheBackslashAsEscape() {
        vars.put("V", "a-b/c*d.e");
        assertThat(Substitution.expandHeredoc("'+$V'\n", vars::get)).isEqualTo("'+a-b/c*d.e'\n");
        assertThat(Substitution.expandHeredoc("\"${UNSET%=[}\"\n", vars::get)).isEqualTo("\"\"\n");
        assertThat(Substitution.expandHeredoc("\"\\'${-+$@/[}a\"", vars::get)).isEqualTo("\"'a\"");
        assertThat(Substitution.expandHeredoc("_\"'$A\"\\`", vars::get)).isEqualTo("_\"'a\"`");
        // The file's escape character is nothing special in the body: only the backslash is.
        assertThat(Substitution.expandHeredoc("`/: \\$A", vars::get)).isEqualTo("`/: $A");
        assertThat(Substitution.expandHeredoc("${1#'=$V'${@%%$1/}`}'[$V',", vars::get))
                .isEqualTo("'[a-b/c*d.e',");
        assertThat(Substitution.expandHeredoc("plain text\n", vars::get)).isEqualTo("plain text\n");
    }

    /** Checked against dockerd 26's BuildKit by SubstitutionDifferentialIT (LABEL keys and values). */
    @Test
    void unquoteProcessesQuotesAndEscapesAndKeepsSubstitutionsAsWritten() {
        assertThat(Substitution.unquote("-\"\\n\"\\\\a", '\\')).isEqualTo("-\\n\\a");
        assertThat(Substitution.unquote("`a@`n", '`')).isEqualTo("a@n");
        assertThat(Substitution.unquote("`*", '`')).isEqualTo("*");
        assertThat(Substitution.unquote("a\\b", '`')).isEqualTo("a\\b");
        assertThat(Substitution.unquote("'x'\"$A\"${A:-\"d\"}$", '\\')).isEqualTo("x$A${A:-\"d\"}$");
        assertThat(Substitution.unquote("'$A'", '\\')).isEqualTo("$A");
        String plain = "nothing-to-do";
        assertThat(Substitution.unquote(plain, '\\')).isSameAs(plain);
    }
}
