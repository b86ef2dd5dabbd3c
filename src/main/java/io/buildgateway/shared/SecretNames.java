package io.buildgateway.shared;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** Recognises names that usually hold secrets, so their values are never shown in responses, logs or the trail. */
public final class SecretNames {

    public static final String REDACTED = "***";
    /**
     * Words that name a secret anywhere in a name (DB_PASSWORD, dbPassword, NPM_TOKEN), key pairs (API_KEY,
     * PRIVATE_KEY, RAILS_MASTER_KEY, LICENSE_KEY, SSH_KEY, ENCRYPTION_KEY, SESSION_KEY: not GPG_KEY or PUBLIC_KEY, which
     * official images set to a key's fingerprint), and short words only as whole parts of the name (AUTH, PWD, PASS,
     * PGPASS: DB_PASS, REDIS_PASS, KEYSTORE_PASS; not UNAUTHORIZED, PWDX, PASSENGER_VERSION or PGPASSFILE).
     */
    private static final Pattern SECRET = Pattern.compile("(?i)(passw(or)?d|secret|token|credential|passphrase"
            + "|api[_.-]?key|private[_.-]?key|access[_.-]?key|signing[_.-]?key"
            + "|(master|license|licence|ssh|encryption|session|client|hmac|jwt|cookie)[_.-]?keys?($|[_.-])"
            + "|(^|[_.-])(auth|pwd|pat|pass|pgpass)($|[_.-]))");

    private SecretNames() {
    }

    /** Every name the expression matches contains one of these (lower-cased): a cheap filter before it. */
    private static final String[] SECRET_WORDS = {"pass", "secret", "token", "credential", "key", "auth", "pwd", "pat"};

    public static boolean looksSecret(String name) {
        if (name == null) {
            return false;
        }
        String lower = name.toLowerCase(Locale.ROOT);
        for (String word : SECRET_WORDS) {
            if (lower.contains(word)) {
                return SECRET.matcher(name).find();
            }
        }
        return false;
    }

    /** The last part of a name that says where something is kept (…_FILE, …-path, ….dir), separator included. */
    private static final Pattern LOCATION_SUFFIX = Pattern.compile("(?i).+[_.-](file|filename|path|dir)");
    /** A value shaped like a path: absolute, ./ or ~/, then only the characters of plain file names. */
    private static final Pattern PATH_VALUE = Pattern.compile("(/|\\./|~/)[A-Za-z0-9._@/-]*");

    /**
     * A variable that says where a secret is kept rather than holding it: the Docker secrets convention
     * ({@code POSTGRES_PASSWORD_FILE=/run/secrets/db}, {@code GITHUB_TOKEN_PATH=/run/secrets/gh}): the name ends in
     * {@code _FILE}, {@code _FILENAME}, {@code _PATH} or {@code _DIR} (or with {@code -} or {@code .}) and the value is
     * empty or shaped like a path ({@code /…}, {@code ./…}, {@code ~/…} in letters, digits and {@code ._@/-} only). A
     * value that is not ({@code DB_PASSWORD_FILE=hunter2}, {@code TOKEN_PATH=/x secret}, a base64 value with
     * {@code +} or {@code =}) keeps the name suspect. Only for judging images and Dockerfiles: redaction keeps hiding
     * such values.
     */
    private static boolean namesSecretLocation(String name, String value) {
        if (name == null || !LOCATION_SUFFIX.matcher(name).matches()) {
            return false;
        }
        return value == null || value.isEmpty() || PATH_VALUE.matcher(value).matches();
    }

    /** A secret-looking name ({@link #looksSecret}) that does not only say where the secret is kept. */
    public static boolean looksSecret(String name, String value) {
        return looksSecret(name) && !namesSecretLocation(name, value);
    }

    /** A copy with the values of secret-looking keys replaced by {@value #REDACTED}. */
    public static Map<String, String> redact(Map<String, String> values) {
        Map<String, String> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, looksSecret(k) ? REDACTED : v));
        return out;
    }
}
