package io.buildgateway.shared;

import java.util.regex.Pattern;

/** A team, and the first segment of every image repository the team owns. */
public record TeamName(String value) {

    private static final Pattern FORMAT = Pattern.compile("[a-z0-9]+([._-][a-z0-9]+)*");

    public TeamName {
        if (!isValid(value)) {
            throw new IllegalArgumentException(
                    "team names are lowercase [a-z0-9]+([._-][a-z0-9]+)*, at most 63 characters");
        }
    }

    public static boolean isValid(String value) {
        return value != null && value.length() <= 63 && FORMAT.matcher(value).matches();
    }

    @Override
    public String toString() {
        return value;
    }
}
