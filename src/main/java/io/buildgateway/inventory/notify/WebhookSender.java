package io.buildgateway.inventory.notify;

import io.buildgateway.inventory.notify.NotificationProperties.Webhook;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.springframework.stereotype.Component;

/**
 * One signed POST per attempt with the JDK's client: connect and response timeouts, redirects never followed (a
 * redirect would carry the signed body somewhere nobody configured), HTTP/1.1 only (no h2c upgrade dance with
 * receivers that do not expect it). The answer's body is never read: only its status counts.
 */
@Component
class WebhookSender {

    static final String USER_AGENT = "BuildGateway-Webhook/1";

    private final NotificationProperties properties;
    private final HttpClient http;

    WebhookSender(NotificationProperties properties) {
        this.properties = properties;
        this.http = HttpClient.newBuilder()
                .connectTimeout(properties.connectTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /** The configured webhook a delivery was queued for, if it is still configured. */
    Optional<Webhook> webhookOf(Delivery d) {
        return properties.webhooksOf(d.team()).stream()
                .filter(w -> Targets.endpointKey(w.url()).equals(d.endpoint())).findFirst();
    }

    AttemptResult send(Delivery d, Instant now) throws InterruptedException {
        Optional<Webhook> configured = webhookOf(d);
        if (configured.isEmpty()) {
            return AttemptResult.permanentFailure(null, "this webhook is no longer configured for team " + d.team());
        }
        Webhook webhook = configured.get();
        URI uri = webhook.uri();
        long timestamp = now.getEpochSecond();
        HttpRequest.Builder request = HttpRequest.newBuilder(Targets.requestUri(uri))
                .timeout(properties.responseTimeout())
                .header("Content-Type", "application/json")
                .header("User-Agent", USER_AGENT)
                .header("X-BuildGateway-Event", d.event())
                .header("X-BuildGateway-Delivery", d.id().toString())
                .header("X-BuildGateway-Timestamp", Long.toString(timestamp))
                .header("X-BuildGateway-Signature", Signatures.sign(webhook.secret(), timestamp, d.body()))
                .POST(HttpRequest.BodyPublishers.ofString(d.body(), StandardCharsets.UTF_8));
        Targets.basicAuthorization(uri).ifPresent(value -> request.header("Authorization", value));
        try {
            HttpResponse<InputStream> response = http.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
            // Closing unread drops the connection instead of draining it: a receiver cannot hold us with a long body.
            response.body().close();
            return AttemptResult.ofHttpStatus(response.statusCode());
        } catch (IOException e) {
            return AttemptResult.transientFailure(null, describe(e, webhook));
        } catch (IllegalArgumentException e) {
            // The client refused the request itself; sending it again cannot help.
            return AttemptResult.permanentFailure(null, describe(e, webhook));
        }
    }

    /** Why an attempt got no answer, without the URL's user info or query, or the secret. */
    static String describe(Exception e, Webhook webhook) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        String url = webhook.url().trim();
        String out = message.replace(url, Targets.redact(url)).replace(webhook.secret(), "***");
        URI uri = webhook.uri();
        for (String part : new String[] {uri.getRawUserInfo(), uri.getUserInfo(), uri.getRawQuery(), uri.getQuery()}) {
            if (part != null && !part.isEmpty()) {
                out = out.replace(part, "***");
            }
        }
        return e.getClass().getSimpleName() + ": " + out;
    }
}
