/**
 * Version orderings of the package ecosystems that OSV advisories name (Debian/Ubuntu, Alpine, npm, Maven, PyPI), and
 * the OSV rule for "is this installed version inside an advisory's affected ranges" ({@link
 * io.buildgateway.scanning.versions.AffectedMatcher}). Pure logic: no Spring, no I/O, no state.
 *
 * <p>Each ordering follows its ecosystem's reference implementation (dpkg, apk-tools, the semver spec, Maven's
 * ComparableVersion, PEP 440), because a scanner that orders versions differently from the package manager reports
 * the wrong fix or misses a vulnerable package. Every ordering is total, also over strings it cannot parse: those get
 * a documented fallback instead of an exception, since advisory data and image metadata are not always well formed.
 */
package io.buildgateway.scanning.versions;
