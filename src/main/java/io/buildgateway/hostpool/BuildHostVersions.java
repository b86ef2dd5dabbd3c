package io.buildgateway.hostpool;

/**
 * Which daemons may run which builder. BuildKit builds need dockerd {@value #MIN_ENGINE} (Engine API
 * {@value #BUILDKIT_API}, BuildKit v0.13): the daemon whose build trace the vendored protobuf definitions describe
 * (src/main/proto), whose built-in Dockerfile frontend reads heredocs, {@code RUN --mount}, {@code COPY --link} and
 * {@code --chmod}, and which builds without a client session. The Engine API reports no BuildKit version of its own:
 * the API version stands for the BuildKit vendored in that dockerd. Pure logic.
 */
final class BuildHostVersions {

    /** The oldest dockerd accepted for BuildKit builds. */
    static final String MIN_ENGINE = "26.0";
    /** Its Engine API version, which BuildKit build requests name. */
    static final String BUILDKIT_API = "1.45";

    private BuildHostVersions() {
    }

    /**
     * Why a daemon cannot run the host's builder, or null when it can.
     *
     * @param engineVersion the daemon's {@code Version} from {@code /version}
     * @param apiVersion its {@code ApiVersion}
     */
    static String refusal(HostPoolProperties.Builder builder, String engineVersion, String apiVersion) {
        if (builder == HostPoolProperties.Builder.CLASSIC) {
            return null;
        }
        if (apiVersion == null || compare(apiVersion, BUILDKIT_API) < 0) {
            return "dockerd " + engineVersion + " (Engine API " + apiVersion + ") is older than dockerd " + MIN_ENGINE
                    + " (Engine API " + BUILDKIT_API + "), the oldest supported for BuildKit builds; refused as a"
                    + " build host (upgrade it, or configure it with builder: classic)";
        }
        return null;
    }

    /** Compares dotted numeric versions ({@code 1.41} < {@code 1.45} < {@code 1.100}); an unreadable part counts 0. */
    static int compare(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int c = Integer.compare(number(x, i), number(y, i));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    private static int number(String[] parts, int i) {
        if (i >= parts.length) {
            return 0;
        }
        String digits = parts[i].replaceAll("[^0-9].*$", "");
        try {
            return digits.isEmpty() ? 0 : Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
