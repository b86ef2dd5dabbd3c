package io.buildgateway.shared;

import java.util.HexFormat;
import java.util.regex.Pattern;

/** A content digest, {@code sha256:<64 lowercase hex>}. */
public record Digest(String value) {

    private static final Pattern FORMAT = Pattern.compile("sha256:[0-9a-f]{64}");

    public Digest {
        if (value == null || !FORMAT.matcher(value).matches()) {
            throw new IllegalArgumentException("not a sha256 digest: expected sha256:<64 lowercase hex>");
        }
    }

    public static Digest parse(String value) {
        return new Digest(value);
    }

    public static Digest sha256(byte[] hash) {
        if (hash.length != 32) {
            throw new IllegalArgumentException("a sha256 hash has 32 bytes, got " + hash.length);
        }
        return new Digest("sha256:" + HexFormat.of().formatHex(hash));
    }

    public static boolean isValid(String value) {
        return value != null && FORMAT.matcher(value).matches();
    }

    /** The 64 hex characters without the algorithm prefix. */
    public String hex() {
        return value.substring("sha256:".length());
    }

    @Override
    public String toString() {
        return value;
    }
}
