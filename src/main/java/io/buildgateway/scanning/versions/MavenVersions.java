package io.buildgateway.scanning.versions;

import org.apache.maven.artifact.versioning.ComparableVersion;

/**
 * Maven's own version order, delegated to {@link ComparableVersion} from maven-artifact: the resolver and the
 * advisories (GHSA, OSV) of the Maven ecosystem order by exactly this class, whose qualifier rules are too intricate to
 * copy ("1.0-alpha-1" < "1.0-SNAPSHOT" < "1.0" == "1.0.0" < "1.0-sp1", unknown qualifiers after known ones...).
 *
 * <p>ComparableVersion orders any string; {@link #isValid} therefore only rejects what no Maven version can be
 * (null, blank, containing whitespace), and compare treats null as the empty version.
 */
public final class MavenVersions implements VersionOrdering {

    @Override
    public int compare(String a, String b) {
        return Integer.signum(parse(a).compareTo(parse(b)));
    }

    @Override
    public boolean isValid(String version) {
        return version != null && !version.isBlank() && version.chars().noneMatch(Character::isWhitespace);
    }

    private static ComparableVersion parse(String version) {
        return new ComparableVersion(version == null ? "" : version.strip());
    }
}
