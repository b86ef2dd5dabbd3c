package io.buildgateway.auth;

import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * Maps a client certificate that TLS has already verified (chain to the configured client CA, validity dates) to a
 * gateway principal, by its subject distinguished name. Subjects compare as X.500 names in canonical form, so case
 * and spacing in the configuration do not matter but the attributes and their order do. A certificate whose
 * subject is not configured authenticates nobody.
 */
final class ClientCertificates {

    /** What a certificate resolves to: a principal, or why not. */
    record Result(GatewayPrincipal principal, String failure) {
    }

    private final Map<String, AuthProperties.Mtls.Client> bySubject = new HashMap<>();

    ClientCertificates(AuthProperties.Mtls mtls) {
        for (AuthProperties.Mtls.Client c : mtls.clients()) {
            bySubject.put(canonical(c.principal()), c);
        }
    }

    Result resolve(X509Certificate[] chain) {
        if (chain == null || chain.length == 0) {
            return new Result(null, "no client certificate");
        }
        X500Principal subject = chain[0].getSubjectX500Principal();
        AuthProperties.Mtls.Client client = bySubject.get(canonical(subject));
        if (client == null) {
            return new Result(null, "the client certificate's subject '" + printable(subject.getName())
                    + "' is not mapped to a gateway principal (gateway.auth.mtls.clients)");
        }
        return new Result(new GatewayPrincipal(null, "mtls:" + client.name(), client.roles(), client.teams()), null);
    }

    static String canonical(X500Principal principal) {
        return principal.getName(X500Principal.CANONICAL);
    }

    /** The first CN of a name, or null. */
    static String commonName(X500Principal principal) {
        try {
            for (Rdn rdn : new LdapName(principal.getName(X500Principal.RFC2253)).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return rdn.getValue().toString();
                }
            }
            return null;
        } catch (InvalidNameException e) {
            return null;
        }
    }

    /** A subject goes into a problem detail and the audit trail: bounded, without control characters. */
    private static String printable(String s) {
        String cleaned = s.codePoints().filter(c -> !Character.isISOControl(c))
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return cleaned.length() > 200 ? cleaned.substring(0, 200) + "…" : cleaned;
    }
}
