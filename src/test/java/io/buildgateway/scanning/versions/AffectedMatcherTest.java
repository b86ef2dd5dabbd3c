package io.buildgateway.scanning.versions;

import static io.buildgateway.scanning.versions.AffectedRange.Event.fixed;
import static io.buildgateway.scanning.versions.AffectedRange.Event.introduced;
import static io.buildgateway.scanning.versions.AffectedRange.Event.lastAffected;
import static io.buildgateway.scanning.versions.AffectedRange.Event.limit;
import static org.assertj.core.api.Assertions.assertThat;

import io.buildgateway.scanning.versions.AffectedRange.Event;
import java.util.List;
import org.junit.jupiter.api.Test;

class AffectedMatcherTest {

    private static final VersionOrdering NPM = new SemVers();
    private static final VersionOrdering DEBIAN = new DebianVersions();
    private static final VersionOrdering ALPINE = new AlpineVersions();
    private static final VersionOrdering MAVEN = new MavenVersions();
    private static final VersionOrdering PYPI = new PypiVersions();

    private static AffectedRange semver(Event... events) {
        return new AffectedRange(AffectedRange.SEMVER, List.of(events));
    }

    private static AffectedRange ecosystem(Event... events) {
        return new AffectedRange(AffectedRange.ECOSYSTEM, List.of(events));
    }

    /** Asserts the match for each "installed -> fixed version" pair; "-" means not affected, "null" no known fix. */
    private static void assertMatches(VersionOrdering ordering, List<AffectedRange> ranges, List<String> versions,
            String... expectations) {
        for (String expectation : expectations) {
            String[] parts = expectation.split(" -> ");
            AffectedMatch match = AffectedMatcher.match(ordering, ranges, versions, parts[0]);
            AffectedMatch expected = parts[1].equals("-") ? new AffectedMatch(false, null)
                    : new AffectedMatch(true, parts[1].equals("null") ? null : parts[1]);
            assertThat(match).as(expectation).isEqualTo(expected);
        }
    }

    @Test
    void introducedZeroMeansFromTheStartAndFixedIsExclusive() {
        List<AffectedRange> ranges = List.of(semver(introduced("0"), fixed("1.0.2")));
        assertMatches(NPM, ranges, List.of(), "0.0.0-0 -> 1.0.2", "0.9.0 -> 1.0.2", "1.0.1 -> 1.0.2",
                "1.0.2-rc.1 -> 1.0.2", "1.0.2 -> -", "1.0.3 -> -", "2.0.0 -> -");
    }

    @Test
    void introducedZeroIsBelowVersionsTheOrderingPutsBelowTheStringZero() {
        // dpkg sorts "0~rc1" below "0"; OSV's "0" still means "every version".
        assertMatches(DEBIAN, List.of(ecosystem(introduced("0"), fixed("1.0-1"))), List.of(), "0~rc1 -> 1.0-1",
                "0~~ -> 1.0-1");
    }

    @Test
    void lastAffectedIsInclusiveAndReportsNoFix() {
        // The OSV schema's last_affected example (h2database).
        List<AffectedRange> ranges = List.of(ecosystem(introduced("0"), lastAffected("2.1.214")));
        assertMatches(MAVEN, ranges, List.of(), "1.4.200 -> null", "2.1.214 -> null", "2.1.214.0 -> null",
                "2.1.215 -> -", "2.2.220 -> -");
    }

    @Test
    void severalIntroducedFixedPairsInOneRange() {
        // The OSV schema's multiple range example, also with the events out of order.
        for (AffectedRange range : List.of(
                semver(introduced("1.0.0"), fixed("1.0.2"), introduced("3.0.0"), fixed("3.2.5")),
                semver(fixed("3.2.5"), introduced("3.0.0"), fixed("1.0.2"), introduced("1.0.0")))) {
            assertMatches(NPM, List.of(range), List.of(), "0.9.9 -> -", "1.0.0 -> 1.0.2", "1.0.1 -> 1.0.2",
                    "1.0.2 -> -", "2.5.0 -> -", "3.0.0 -> 3.2.5", "3.2.4 -> 3.2.5", "3.2.5 -> -", "4.0.0 -> -");
        }
    }

    @Test
    void aVersionBelowIntroducedIsNotAffected() {
        List<AffectedRange> ranges = List.of(ecosystem(introduced("2.0.0"), fixed("2.5.1")));
        assertMatches(PYPI, ranges, List.of(), "1.9 -> -", "2.0.0rc1 -> -", "2.0 -> 2.5.1", "2.5.1rc1 -> 2.5.1",
                "2.5.1 -> -", "2.5.1.post1 -> -");
    }

    @Test
    void anyOfSeveralRangesMatches() {
        // Log4Shell-like: one range per release line, as GHSA publishes them.
        List<AffectedRange> ranges = List.of(
                ecosystem(introduced("2.0-beta9"), fixed("2.3.1")),
                ecosystem(introduced("2.4"), fixed("2.12.2")),
                ecosystem(introduced("2.13.0"), fixed("2.15.0")));
        assertMatches(MAVEN, ranges, List.of(), "2.0-beta8 -> -", "2.0 -> 2.3.1", "2.3.1 -> -", "2.4 -> 2.12.2",
                "2.12.1 -> 2.12.2", "2.12.2 -> -", "2.14.1 -> 2.15.0", "2.15.0 -> -", "2.17.1 -> -");
    }

    @Test
    void theFixedVersionIsTheSmallestFixAboveTheInstalledVersion() {
        List<AffectedRange> ranges = List.of(ecosystem(introduced("0"), fixed("2.36-9+deb12u4"),
                introduced("2.37-1"), fixed("2.37-12")));
        assertMatches(DEBIAN, ranges, List.of(), "2.36-9+deb12u3 -> 2.36-9+deb12u4", "2.36-9 -> 2.36-9+deb12u4",
                "2.36-9+deb12u4 -> -", "2.36-9+deb12u10 -> -", "2.37-1 -> 2.37-12", "2.37-12 -> -");
        assertMatches(ALPINE, List.of(ecosystem(introduced("0"), fixed("3.1.4-r5"))), List.of(),
                "3.1.4-r4 -> 3.1.4-r5", "3.1.4_rc1-r9 -> 3.1.4-r5", "3.1.4-r5 -> -", "3.1.5-r0 -> -");
    }

    @Test
    void aFixThatIsItselfAffectedIsSkipped() {
        // Judgement call for overlapping ranges: 1.5 leaves the first range but lies in the second, so upgrading
        // to it would not help; the answer is the first fix outside every range.
        List<AffectedRange> overlapping = List.of(
                semver(introduced("0"), fixed("1.5.0")),
                semver(introduced("1.0.0"), fixed("2.0.0")));
        assertMatches(NPM, overlapping, List.of(), "0.5.0 -> 2.0.0", "1.2.0 -> 2.0.0", "1.5.0 -> 2.0.0",
                "2.0.0 -> -");
        // A range without a fix above the installed version, or above a fix on the way, means no upgrade is known
        // to help: 1.5.0 fixes the first range but the second, unfixed one covers it.
        List<AffectedRange> unfixedToo = List.of(
                semver(introduced("0"), fixed("1.5.0")),
                semver(introduced("1.0.0")));
        assertMatches(NPM, unfixedToo, List.of(), "0.5.0 -> null", "1.2.0 -> null", "3.0.0 -> null");
        List<AffectedRange> unfixedBelow = List.of(
                semver(introduced("0"), fixed("1.5.0")),
                semver(introduced("0"), lastAffected("0.4.0")));
        assertMatches(NPM, unfixedBelow, List.of(), "0.3.0 -> 1.5.0", "0.5.0 -> 1.5.0");
    }

    @Test
    void aFixInTheSameVersionAsTheIntroductionLeavesNothingAffected() {
        // Equal versions keep their document order when the events are sorted.
        assertMatches(NPM, List.of(semver(introduced("1.0.0"), fixed("1.0.0"))), List.of(), "1.0.0 -> -");
        assertMatches(NPM, List.of(semver(introduced("0"), fixed("1.0.0"), introduced("1.0.0"), fixed("2.0.0"))),
                List.of(), "0.1.0 -> 2.0.0", "1.0.0 -> 2.0.0", "2.0.0 -> -");
    }

    @Test
    void limitsBoundTheRange() {
        assertMatches(NPM, List.of(semver(introduced("0"), limit("2.0.0"))), List.of(), "1.5.0 -> null",
                "2.0.0 -> -", "3.0.0 -> -");
        assertMatches(NPM, List.of(semver(introduced("1.0.0"), limit("*"))), List.of(), "0.9.0 -> -",
                "9.9.9 -> null");
        // Several limits: below any one of them is enough.
        assertMatches(NPM, List.of(semver(introduced("1.0.0"), fixed("3.0.0"), limit("1.5.0"), limit("2.5.0"))),
                List.of(), "1.2.0 -> 3.0.0", "2.0.0 -> 3.0.0", "2.7.0 -> -");
    }

    @Test
    void listedVersionsAreAffectedWithoutRanges() {
        List<String> versions = List.of("1.0.0", "1.0.1", "1.1");
        assertMatches(NPM, List.of(), versions, "1.0.0 -> null", "1.0.1 -> null", "1.0.2 -> -", "0.9.0 -> -");
        // Equal as versions counts too: Maven's "1.1" is "1.1.0".
        assertMatches(MAVEN, List.of(), versions, "1.1.0 -> null", "1.2 -> -");
        // Listed, and also inside a range: the range still tells the fix.
        assertMatches(NPM, List.of(semver(introduced("1.0.0"), fixed("1.0.3"))), versions, "1.0.1 -> 1.0.3");
    }

    @Test
    void semverRangesUseSemverWhateverTheEcosystem() {
        // In dpkg's order "1.0.0-rc.1" is revision "rc.1" of 1.0.0, above it; in SemVer a pre-release below it.
        assertMatches(DEBIAN, List.of(semver(introduced("0"), fixed("1.0.0"))), List.of(), "1.0.0-rc.1 -> 1.0.0");
        assertMatches(DEBIAN, List.of(ecosystem(introduced("0"), fixed("1.0.0"))), List.of(), "1.0.0-rc.1 -> -");
    }

    @Test
    void gitRangesAndUnorderedEcosystemRangesAreIgnored() {
        List<AffectedRange> git = List.of(new AffectedRange(AffectedRange.GIT, List.of(introduced("0"),
                fixed("8c1fbe9ad1a4d8a7c2d1e0f0b6a9e2f1c3d4e5f6"))));
        assertMatches(NPM, git, List.of(), "1.0.0 -> -", "8c1fbe9ad1a4d8a7c2d1e0f0b6a9e2f1c3d4e5f6 -> -");
        List<AffectedRange> eco = List.of(ecosystem(introduced("0")));
        assertMatches(null, eco, List.of("v1.2.3"), "1.2.3 -> -", "v1.2.3 -> null");
        assertThat(AffectedMatcher.match(NPM, List.of(new AffectedRange("ecosystem", List.of(introduced("0")))),
                List.of(), "1.0.0").affected()).isTrue();
    }

    @Test
    void missingInputsAreNotAffected() {
        List<AffectedRange> everything = List.of(semver(introduced("0")));
        assertThat(AffectedMatcher.match(NPM, everything, List.of(), null)).isEqualTo(AffectedMatch.NOT_AFFECTED);
        assertThat(AffectedMatcher.match(NPM, everything, List.of(), " ")).isEqualTo(AffectedMatch.NOT_AFFECTED);
        assertThat(AffectedMatcher.match(NPM, null, null, "1.0.0")).isEqualTo(AffectedMatch.NOT_AFFECTED);
        assertThat(AffectedMatcher.match(NPM, List.of(semver(new Event("introduced", null), fixed("1.0.0"))),
                List.of(), "0.5.0")).isEqualTo(AffectedMatch.NOT_AFFECTED);
    }
}
