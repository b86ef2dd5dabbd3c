package io.buildgateway.scanning.versions;

import java.util.Locale;
import java.util.Optional;

/** Finds the version ordering of an OSV ecosystem name. */
public final class VersionOrderings {

    private static final VersionOrdering DEBIAN = new DebianVersions();
    private static final VersionOrdering ALPINE = new AlpineVersions();
    private static final VersionOrdering SEMVER = new SemVers();
    private static final VersionOrdering MAVEN = new MavenVersions();
    private static final VersionOrdering PYPI = new PypiVersions();

    private VersionOrderings() {
    }

    /**
     * OSV ecosystem names: "Debian", "Debian:12", "Alpine", "Alpine:v3.19", "Maven", "npm", "PyPI" (also accept
     * "Ubuntu*" -> Debian ordering). Empty for unknown. Case-sensitive OSV spelling, but tolerate case differences.
     *
     * <p>Only the part before the first colon names the ecosystem; the rest is a release ("Debian:12",
     * "Ubuntu:Pro:22.04:LTS") that does not change the order.
     */
    public static Optional<VersionOrdering> forEcosystem(String osvEcosystem) {
        if (osvEcosystem == null) {
            return Optional.empty();
        }
        String name = osvEcosystem.strip();
        int colon = name.indexOf(':');
        String base = (colon < 0 ? name : name.substring(0, colon)).strip().toLowerCase(Locale.ROOT);
        if (base.startsWith("ubuntu")) {
            return Optional.of(DEBIAN);
        }
        return Optional.ofNullable(switch (base) {
            case "debian" -> DEBIAN;
            case "alpine" -> ALPINE;
            case "npm" -> SEMVER;
            case "maven" -> MAVEN;
            case "pypi" -> PYPI;
            default -> null;
        });
    }
}
