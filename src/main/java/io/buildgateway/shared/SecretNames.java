package io.buildgateway.shared;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** Recognises names that usually hold secrets, so their values are never shown in responses, logs or the trail. */
public final class SecretNames {

    public static final String REDACTED = "***";
    private static final Pattern SECRET = Pattern.compile(
            "(?i).*(passw(or)?d|passwd|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential|auth).*");

    private SecretNames() {
    }

    public static boolean looksSecret(String name) {
        return name != null && SECRET.matcher(name).matches();
    }

    /** A copy with the values of secret-looking keys replaced by {@value #REDACTED}. */
    public static Map<String, String> redact(Map<String, String> values) {
        Map<String, String> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(k, looksSecret(k) ? REDACTED : v));
        return out;
    }
}
