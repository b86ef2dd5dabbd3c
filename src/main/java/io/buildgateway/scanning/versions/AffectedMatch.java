package io.buildgateway.scanning.versions;

/**
 * Whether an installed version is affected, and the version to upgrade to.
 *
 * @param fixedVersion the smallest "fixed" event version greater than the installed version in the range that matched,
 *                     or null (not affected, only listed in "versions", or no fix known); see {@link AffectedMatcher}
 *                     for several matching ranges
 */
public record AffectedMatch(boolean affected, String fixedVersion) {

    public static final AffectedMatch NOT_AFFECTED = new AffectedMatch(false, null);
}
