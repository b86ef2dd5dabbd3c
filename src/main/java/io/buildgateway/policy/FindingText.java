package io.buildgateway.policy;

import com.google.re2j.Matcher;
import com.google.re2j.Pattern;
import io.buildgateway.shared.SecretNames;
import java.util.Locale;

/**
 * Masks credentials a finding would quote from the Dockerfile itself. The secret rules ({@code secret-in-arg-or-env},
 * {@code secret-build-arg}, {@code secret-in-label-or-run}) leave values out, but other rules quote the text they
 * judge: {@code curl -k -H "Authorization: token ghp_…"}, {@code ADD https://h/x?token=…},
 * {@code git+https://oauth2:glpat-…@host} (a review's finding, 2026-12-07). Every finding's message and instruction
 * pass through {@link #scrub} (in {@link Finding}'s constructor, so no rule and no later copy can skip it), which
 * replaces with {@value SecretNames#REDACTED}:
 * <ul>
 * <li>a URL's user info ({@code scheme://user:pass@} becomes {@code scheme://***@}); a bare user name of fewer than 16
 * characters ({@code git@}, {@code ssh://deploy@}) stays;</li>
 * <li>the value of a {@code name=value} (query parameter, option, variable) whose name looks secret
 * ({@link SecretNames#looksSecret}, or key, pass, sig, signature, {@code X-Amz-*}); a value that is a variable
 * reference ({@code $TOKEN}) stays;</li>
 * <li>the credential of an {@code Authorization} header (after its scheme, if any), of {@code Bearer} and of a
 * credential header ({@code X-Api-Key}, {@code X-Vault-Token}, {@code PRIVATE-TOKEN}, {@code Cookie});</li>
 * <li>the password of a command line's option: curl's {@code -u user:pw} (also {@code -uuser:pw},
 * {@code --user=user:pw}, {@code -U}/{@code --proxy-user}), {@code --password pw} and wget's
 * {@code --http-password}/{@code --ftp-password}/{@code --proxy-password pw}, {@code --token pw}, sshpass's
 * {@code -p pw}/{@code -ppw}, and {@code -ppw} of the MySQL and MariaDB clients (only theirs: elsewhere {@code -p} is a
 * port, a path's parents, a preserve flag);</li>
 * <li>what {@code secret-in-label-or-run} recognises as a credential (AWS key ids, GitHub, GitLab and Slack tokens,
 * JWTs, a private key block).</li>
 * </ul>
 * A cut mark ({@code …}) is never masked with a value: the build's redactor replaces a build arg's value up to it.
 * The rest of the message is unchanged. Lint speed matters (issue #12): a message without '@', '=', "uth"/"UTH",
 * "earer", an option that may take a password or a token's prefix is returned after a few {@code indexOf}; each
 * expression runs only on a message its own {@code indexOf} checks admit (the MySQL one only where "mysql" or
 * "mariadb" and a {@code -p} occur), and they are RE2/J (linear time).
 */
public final class FindingText {

    private static final String MASK = SecretNames.REDACTED;

    /** scheme://userinfo@ — userinfo up to the first '@' before any '/', '?', '#', space or quote. */
    private static final Pattern USERINFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)([^\\s/?#@'\"`]+)@");
    /** name=value, the name after a start, a separator, a quote or dashes (an option). */
    private static final Pattern NAME_VALUE = Pattern.compile(
            "(?:^|[?&;,\\s'\"(`{:/#])-{0,2}([A-Za-z_][A-Za-z0-9_.-]*)=(\"[^\"\u2026]*\"?|'[^'\u2026]*'?"
                    + "|[^&\\s'\"`\u2026]+)");
    /** name=value inside a value: names after any separator, values up to the next one. */
    private static final Pattern INNER_NAME_VALUE = Pattern.compile(
            "(?:^|[?&;,\\s'\"(`{:/#=])-{0,2}([A-Za-z_][A-Za-z0-9_. -]*)=([^&\\s'\"`;,#)}\u2026]+)");
    /**
     * An Authorization header's credential (after its scheme), a bearer token, or the value of a credential header
     * ({@code PRIVATE-TOKEN}, {@code Cookie}, {@code X-…-Token}, {@code X-…-Key}, {@code X-…-Secret}: X-Api-Key,
     * X-Vault-Token, X-Auth-Key).
     */
    private static final Pattern AUTHORIZATION = Pattern.compile(
            "(?i)(?:(?:(?:proxy-)?authorization\\s*[:=]\\s*(?:(?:bearer|basic|token|digest|negotiate|oauth|bot|apikey"
                    + "|hmac|sharedkey|aws4-hmac-sha256)\\s+)?)"
                    + "|(?:private-token|x-api-key|x-auth-token|\\bx-(?:[a-z0-9]+-)*(?:token|key|secret)|api-key"
                    + "|cookie)\\s*:\\s*|\\bbearer\\s+)([^\\s'\"`\u2026]+)");
    /** A value after an option: inside single or double quotes (the quotes kept), or a bare word. */
    private static final String VALUE = "(?:'([^'\u2026]*)'?|\"([^\"\u2026]*)\"?|([^\\s'\"`\u2026]+))";
    /**
     * curl's {@code -u user:password} ({@code -ubob:pw}, {@code --user bob:pw}, {@code --user=bob:pw}, proxy's
     * {@code -U}), and an option that takes a password or token as its next word ({@code --password pw}, wget's
     * {@code --http-password pw}, {@code --ftp-password pw}, {@code --proxy-password pw}, {@code --token pw}).
     */
    private static final Pattern OPTION = Pattern.compile(
            // user:password quoted as a whole ('bob:p w', whose password ends at the closing quote), or not
            "(?:^|\\s)(?:-u|-U|--(?:proxy-)?user(?:\\s+|=))\\s*(?:'[^\\s'\"`:]+:([^'\u2026]*)'?"
                    + "|\"[^\\s'\"`:]+:([^\"\u2026]*)\"?|[^\\s'\"`:]+:" + VALUE + ")"
                    + "|(?:^|\\s)(?:--?(?:(?:http|https|ftp|proxy)-)?(?:password|passwd)\\s+|--?(?:token|secret|api-key"
                    + "|access-token|auth-token)\\s+)" + VALUE);
    /**
     * The separators of an exec form's JSON array ({@code RUN ["curl","-u","bob:pw"]}): read as white space of the
     * same length ({@link #shellForm}), so that the option patterns see the words a shell form would have.
     */
    private static final Pattern EXEC_SEPARATOR = Pattern.compile("\",\\s*\"");
    /**
     * {@code -p<password>} of the MySQL and MariaDB clients, written against the option ({@code mysql -ppw},
     * {@code mysqladmin -uroot -p'pw'}): a later option of the same command, up to a command separator. Their
     * {@code -p} alone prompts (the next word is a database), and {@code -P} is the port.
     */
    private static final Pattern MYSQL = Pattern.compile(
            "(?:^|[\\s;&|(/'\"`])(?:mysql|mysqladmin|mysqldump|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlslap"
                    + "|mysqlbinlog|mariadb|mariadb-[a-z]+)(?:\\s[^;&|\\n]*?)?\\s-p" + VALUE);
    /**
     * sshpass's {@code -p password} and {@code -ppassword}, after its other options only ({@code -f file},
     * {@code -d fd}, {@code -P prompt}, {@code -e}, {@code -v}): a {@code -p} of the command it runs
     * ({@code sshpass -e ssh -p 2222 host}) is that command's port.
     */
    private static final Pattern SSHPASS = Pattern.compile(
            "(?:^|[\\s;&|(/'\"`])sshpass(?:\\s+-(?:[fdP]\\s*[^\\s-]\\S*|[vhVe]\\S*))*\\s+-p\\s*" + VALUE);
    /** As BuiltinRules.SECRET_VALUE, the whole token; a private key block up to its end line (or the text's end). */
    private static final Pattern TOKEN = Pattern.compile(
            "AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
                    + "|gh[pousr]_[A-Za-z0-9]{30,}|xox[baprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}"
                    + "|eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]*");

    private FindingText() {
    }

    /** The text with credential-looking parts masked; null stays null. */
    public static String scrub(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        boolean at = text.indexOf('@') >= 0;
        boolean equals = text.indexOf('=') >= 0;
        boolean auth = text.contains("uth") || text.contains("UTH") || text.contains("earer")
                || text.contains("EARER") || text.indexOf(':') >= 0 && (text.contains("oken") || text.contains("OKEN")
                || text.contains("ey:") || text.contains("EY:") || text.contains("ookie") || text.contains("OOKIE")
                || text.contains("ecret:") || text.contains("ECRET:"));
        boolean dash = text.indexOf('-') >= 0;
        boolean option = dash && (shortOption(text, 'u') || text.contains("-user") || shortOption(text, 'U')
                || text.contains("pass") || text.contains("oken") || text.contains("ecret")
                || text.contains("api-key"));
        // -p<password> only for the commands whose -p is a password (elsewhere it is a port, a path, a parent...)
        boolean sshpass = option && text.contains("sshpass") && shortOption(text, 'p');
        boolean mysql = dash && (text.contains("mysql") || text.contains("mariadb")) && shortOption(text, 'p');
        boolean token = BuiltinRules.looksSecretValue(text);
        if (!at && !equals && !auth && !option && !mysql && !token) {
            return text;
        }
        String out = text;
        if (token) {
            out = TOKEN.matcher(out).replaceAll(MASK);
        }
        if (at && out.contains("://")) {
            out = userinfo(out);
        }
        if (auth) {
            out = authorization(out);
        }
        if (option) {
            out = maskGroups(OPTION.matcher(shellForm(out)), out);
        }
        if (sshpass) {
            out = maskGroups(SSHPASS.matcher(shellForm(out)), out);
        }
        if (mysql) {
            out = maskGroups(MYSQL.matcher(shellForm(out)), out);
        }
        if (equals) {
            out = nameValues(out);
        }
        return out;
    }

    private static String userinfo(String text) {
        Matcher m = USERINFO.matcher(text);
        StringBuilder b = null;
        int from = 0;
        while (m.find()) {
            String info = m.group(2);
            if (info.equals(MASK) || info.indexOf(':') < 0 && info.length() < 16 || info.startsWith("$")) {
                continue;
            }
            b = b == null ? new StringBuilder(text.length()) : b;
            b.append(text, from, m.start(2)).append(MASK);
            from = m.end(2);
        }
        return b == null ? text : b.append(text, from, text.length()).toString();
    }

    private static String authorization(String text) {
        return maskGroups(AUTHORIZATION.matcher(text), text);
    }

    /**
     * The text with an exec form's separators ({@code ","}) as spaces of the same length, so that a match's positions
     * hold in the text itself; the text itself when it has none.
     */
    private static String shellForm(String text) {
        if (text.indexOf("\",") < 0) {
            return text;
        }
        Matcher m = EXEC_SEPARATOR.matcher(text);
        StringBuilder b = new StringBuilder(text);
        while (m.find()) {
            for (int i = m.start(); i < m.end(); i++) {
                b.setCharAt(i, ' ');
            }
        }
        return b.toString();
    }

    /** Masks, in every match, the first group that matched (the credential; a quoted value without its quotes). */
    private static String maskGroups(Matcher m, String text) {
        StringBuilder b = null;
        int from = 0;
        while (m.find()) {
            int g = 1;
            while (g < m.groupCount() && m.start(g) < 0) {
                g++;
            }
            if (m.start(g) < 0) {
                continue;
            }
            String value = m.group(g).strip();
            int space = value.indexOf(' ');
            // "Bearer $TOKEN": a scheme and a variable reference, no credential written in the file.
            if (!masks(value) || space > 0 && !masks(value.substring(space + 1).strip())) {
                continue;
            }
            int end = m.end(g);
            while (end > m.start(g) && Character.isWhitespace(text.charAt(end - 1))) {
                end--;
            }
            b = b == null ? new StringBuilder(text.length()) : b;
            b.append(text, from, m.start(g)).append(MASK);
            from = end;
        }
        return b == null ? text : b.append(text, from, text.length()).toString();
    }

    /**
     * Whether the text has {@code -<letter>} at its start, after white space or after a double quote (an option, not
     * {@code apt-utils}).
     */
    private static boolean shortOption(String text, char letter) {
        for (int i = text.indexOf('-'); i >= 0 && i + 1 < text.length(); i = text.indexOf('-', i + 1)) {
            if (text.charAt(i + 1) == letter && (i == 0 || Character.isWhitespace(text.charAt(i - 1))
                    || text.charAt(i - 1) == '"')) { // "-u": an exec form's word
                return true;
            }
        }
        return false;
    }

    private static String nameValues(String text) {
        // First the pairs inside a value (a connection string's "…;Password=x", "a=1,client_secret=x"), whose outer
        // name may not look secret; then whole values of secret-named parameters.
        return nameValues(nameValues(text, INNER_NAME_VALUE), NAME_VALUE);
    }

    private static String nameValues(String text, Pattern pattern) {
        Matcher m = pattern.matcher(text);
        StringBuilder b = null;
        int from = 0;
        while (m.find()) {
            if (!secretName(m.group(1)) || !masks(m.group(2))) {
                continue;
            }
            // Masked up to a separator of parameters or words: the whole value, even where the message's own
            // punctuation follows it ("…?token=…: not in" loses its colon rather than showing a value's last dot).
            int end = m.end(2);
            b = b == null ? new StringBuilder(text.length()) : b;
            b.append(text, from, m.start(2)).append(MASK);
            from = end;
        }
        return b == null ? text : b.append(text, from, text.length()).toString();
    }

    /** A value worth masking: not already masked, not a variable reference, not the redactor's [build arg X]. */
    private static boolean masks(String value) {
        String v = value.startsWith("\"") || value.startsWith("'") ? value.substring(1) : value;
        // Scrubbing again what was scrubbed and redacted ("***[build arg X]") changes nothing.
        v = v.startsWith(MASK) ? v.substring(MASK.length()) : v;
        return !v.isEmpty() && !v.equals(MASK) && v.charAt(0) != '$' && v.charAt(0) != '['
                && v.charAt(0) != '<' && !v.equals("\"") && !v.equals("'");
    }

    /** A parameter or variable name that holds a credential. */
    static boolean secretName(String name) {
        if (SecretNames.looksSecret(name, null)) {
            return true;
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.startsWith("x-amz-") || lower.startsWith("x-goog-")) {
            return !lower.equals("x-amz-algorithm") && !lower.equals("x-amz-date") && !lower.equals("x-amz-expires")
                    && !lower.equals("x-amz-signedheaders") && !lower.equals("x-goog-algorithm")
                    && !lower.equals("x-goog-date") && !lower.equals("x-goog-expires")
                    && !lower.equals("x-goog-signedheaders");
        }
        return switch (lower) {
            case "key", "apikey", "pass", "passwd", "pw", "sig", "signature", "auth", "access_token",
                    "client_secret", "sas", "sv_sig", "accesstoken" -> true;
            default -> lower.endsWith("_key") && !lower.endsWith("public_key") && !lower.endsWith("gpg_key")
                    || lower.endsWith("_pass") || lower.endsWith("-key") && !lower.endsWith("public-key");
        };
    }
}
