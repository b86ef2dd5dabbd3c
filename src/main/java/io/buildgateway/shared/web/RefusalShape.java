package io.buildgateway.shared.web;

import io.buildgateway.shared.Problem;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * A listener whose clients read refusals in a shape other than problem+json (the Docker Engine API's port: its CLI
 * prints {@code {"message"}}). Refusals written before any controller runs ({@link ProblemResponses#write}: the query
 * check, Tomcat's own refusals) are rendered by the shape that claims the request, and audited the same way.
 */
public interface RefusalShape {

    /** Whether the request arrived where this shape is spoken. */
    boolean claims(HttpServletRequest request);

    /** Writes the refusal in this shape; the caller has audited it. */
    void render(Problem problem, HttpServletRequest request, HttpServletResponse response) throws IOException;
}
