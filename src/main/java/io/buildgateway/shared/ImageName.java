package io.buildgateway.shared;

import java.util.regex.Pattern;

/**
 * An image repository owned by a team, {@code <team>/<name>[/<more>]}, and an optional tag. Segments are lowercase
 * {@code [a-z0-9]+([._-][a-z0-9]+)*}; tags follow the registry grammar {@code [A-Za-z0-9_][A-Za-z0-9._-]{0,127}}.
 */
public record ImageName(TeamName team, String repository) {

    private static final Pattern SEGMENT = Pattern.compile("[a-z0-9]+([._-][a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,127}");

    public ImageName {
        if (team == null || repository == null || !repository.startsWith(team.value() + "/")) {
            throw new IllegalArgumentException("image must be <team>/<name>");
        }
    }

    /** Parses {@code <team>/<name>}; rejects registries, tags and digests in the name. */
    public static ImageName parse(String value) {
        if (value == null || value.isEmpty() || value.length() > 255) {
            throw new IllegalArgumentException("image must be <team>/<name>, at most 255 characters");
        }
        String[] segments = value.split("/", -1);
        if (segments.length < 2) {
            throw new IllegalArgumentException("image must be <team>/<name>");
        }
        for (int i = 0; i < segments.length; i++) {
            if (!SEGMENT.matcher(segments[i]).matches()) {
                // Which segment, not what it is: the refusal is echoed and audited, and a name from docker build -t
                // may be anything the user pasted.
                throw new IllegalArgumentException("each image name segment must match [a-z0-9]+([._-][a-z0-9]+)*;"
                        + " segment " + (i + 1) + " of " + segments.length + " does not");
            }
        }
        return new ImageName(new TeamName(segments[0]), value);
    }

    public static boolean isValidTag(String tag) {
        return tag != null && TAG.matcher(tag).matches();
    }

    @Override
    public String toString() {
        return repository;
    }
}
