package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.security.web.firewall.RequestRejectedException;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.stereotype.Component;

/**
 * Requests Spring Security's firewall ({@code StrictHttpFirewall}) refuses: a 400 problem, audited like every refusal
 * with the path the client asked for and why. Before (a review's finding, 2026-12-07) the default handler's
 * {@code sendError(400)} went to {@code /error}, whose event named {@code /error} and said only "Bad Request". The
 * firewall's own message can quote a header's or a parameter's value (a credential, say): only a reason of the
 * gateway's own words, and the blocked character sequence when that is what it was, reach the response and the trail.
 * Picked up by Spring Security as the one {@link RequestRejectedHandler} bean.
 */
@Component
class FirewallRejections implements RequestRejectedHandler {

    private static final Pattern BLOCKED = Pattern.compile("potentially malicious String \"([^\"]{1,16})\"");

    private final ProblemResponses problems;

    FirewallRejections(ProblemResponses problems) {
        this.problems = problems;
    }

    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, RequestRejectedException rejected)
            throws IOException {
        if (response.isCommitted()) {
            return;
        }
        problems.write(new Problem(400, "request-rejected", "Bad Request",
                "the request was rejected: " + reason(rejected.getMessage())), request, response);
    }

    /** The firewall's reason in words that quote nothing the client sent but a blocked character sequence. */
    static String reason(String message) {
        String m = message == null ? "" : message;
        Matcher blocked = BLOCKED.matcher(m);
        if (blocked.find()) {
            return "the URL contains the blocked sequence \"" + blocked.group(1) + "\"";
        }
        if (m.contains("not normalized")) {
            return "the URL is not normalized";
        }
        if (m.contains("header")) {
            return "a header name or value holds characters that are not allowed";
        }
        if (m.contains("parameter")) {
            return "a parameter name or value holds characters that are not allowed";
        }
        if (m.contains("HTTP method")) {
            return "the HTTP method is not allowed";
        }
        if (m.contains("domain") || m.contains("host")) {
            return "the host name is not allowed";
        }
        if (m.contains("printable") || m.contains("control")) {
            return "the URL holds characters that are not allowed";
        }
        return "it is not a request the gateway's firewall accepts";
    }
}
