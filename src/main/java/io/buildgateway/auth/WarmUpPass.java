package io.buildgateway.auth;

import io.buildgateway.shared.web.ProblemResponses;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/**
 * The credential of a starting replica's requests to itself (issue #17: the warm-up before readiness sends requests
 * through its own HTTP port, so that Tomcat, the security filters, the MVC dispatch, the refusal's problem and the
 * JSON writers are compiled before the first clients come). It exists only in this JVM's memory, only while a
 * warm-up runs ({@link #open()} to {@link #close()}: the warm-up opens it at its start and closes it before it returns,
 * and readiness waits for that), and it is accepted only from a loopback address. It is 256 random bits, never
 * written to a log, a response or the database. Any other time, or from anywhere else, the same secret is an unknown
 * token: a 401, audited as any.
 *
 * <p>What it lets the warm-up do, and nothing more ({@link #PRINCIPAL}): the role BUILDER for the team
 * {@value #TEAM} only. A submission by it is refused as its team's quota refuses one, before anything is uploaded,
 * counted or kept (BuildSubmissions); its lints and reads change nothing. Its refusals are not audited
 * ({@link ProblemResponses#REHEARSAL}): they are the replica rehearsing, not a caller refused, and a summary event or
 * a rate-limit row per start would say otherwise.
 */
@Component
public class WarmUpPass {

    /** The team the warm-up's requests name. */
    public static final String TEAM = "warm-up";
    /** Who the pass authenticates; compared by identity ({@link #is}), so no token of the same name is taken for it. */
    private static final GatewayPrincipal PRINCIPAL = new GatewayPrincipal(null, "warm-up", Set.of(Role.BUILDER),
            Set.of(TEAM));
    private static final String PREFIX = "bgw_warmup_";
    /** 127.0.0.0/8 written as a dotted quad. */
    private static final Pattern LOOPBACK_V4 = Pattern.compile(
            "127\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)");

    private final SecureRandom random = new SecureRandom();
    private final AtomicReference<byte[]> secret = new AtomicReference<>();

    /** A new secret, valid until {@link #close()} (a pass already open is replaced). */
    public String open() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        String value = PREFIX + HexFormat.of().formatHex(bytes);
        secret.set(value.getBytes(StandardCharsets.UTF_8));
        return value;
    }

    /** Ends the pass: from now on its secret is an unknown token. */
    public void close() {
        secret.set(null);
    }

    /** Whether the request authenticated with the pass: the current pass's secret, from a loopback address. */
    boolean accepts(String presented, String remoteAddress) {
        byte[] current = secret.get();
        return current != null && MessageDigest.isEqual(current, presented.getBytes(StandardCharsets.UTF_8))
                && loopback(remoteAddress);
    }

    /** Whether {@code principal} is the pass's (and so the request is the replica's own warm-up). */
    public static boolean is(GatewayPrincipal principal) {
        return principal == PRINCIPAL;
    }

    static GatewayPrincipal principal() {
        return PRINCIPAL;
    }

    /**
     * A loopback address as Tomcat gives the peer (a literal, never a name): 127.0.0.0/8, {@code ::1}, or 127.x mapped
     * into IPv6. Matched as text, so nothing is looked up.
     */
    static boolean loopback(String address) {
        if (address == null) {
            return false;
        }
        String a = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1)
                : address;
        a = a.toLowerCase(Locale.ROOT);
        if (a.equals("::1") || a.equals("0:0:0:0:0:0:0:1")) {
            return true;
        }
        for (String mapped : new String[] {"::ffff:", "0:0:0:0:0:ffff:"}) {
            if (a.startsWith(mapped)) {
                a = a.substring(mapped.length());
            }
        }
        return LOOPBACK_V4.matcher(a).matches();
    }
}
