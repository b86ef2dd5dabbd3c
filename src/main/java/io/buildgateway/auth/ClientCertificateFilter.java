package io.buildgateway.auth;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.security.cert.X509Certificate;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Mutual TLS for machine clients: when the request carries no {@code Authorization} header and the client presented
 * a certificate that the TLS handshake verified, the certificate's subject names the principal
 * ({@link ClientCertificates}). An unmapped certificate leaves the request anonymous with the reason for the 401.
 * A bearer credential, when sent, takes precedence over the certificate.
 */
class ClientCertificateFilter extends OncePerRequestFilter {

    static final String CERTIFICATES = "jakarta.servlet.request.X509Certificate";

    private final ClientCertificates certificates;

    ClientCertificateFilter(ClientCertificates certificates) {
        this.certificates = certificates;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (request.getHeader("Authorization") == null && request.isSecure()
                && SecurityContextHolder.getContext().getAuthentication() == null
                && request.getAttribute(CERTIFICATES) instanceof X509Certificate[] chainOfCerts
                && chainOfCerts.length > 0) {
            ClientCertificates.Result result = certificates.resolve(chainOfCerts);
            if (result.principal() == null) {
                request.setAttribute(BearerTokenFilter.FAILURE, result.failure());
            } else {
                BearerTokenFilter.authenticate(result.principal());
            }
        }
        chain.doFilter(request, response);
    }
}
