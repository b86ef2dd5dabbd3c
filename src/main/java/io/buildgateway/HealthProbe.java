package io.buildgateway;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container image's HEALTHCHECK (Dockerfile.gateway): the image has no shell and no curl, so the check is this
 * class run by the image's own JRE, {@code java -cp /app/app.jar io.buildgateway.HealthProbe}. It asks the gateway's
 * liveness endpoint on loopback and exits 0 on 200, 1 otherwise. JDK only, nothing of Spring: it must start fast.
 */
public final class HealthProbe {

    private HealthProbe() {
    }

    public static void main(String[] args) {
        String port = System.getenv().getOrDefault("GATEWAY_PORT", "8080");
        String url = args.length > 0 ? args[0] : "http://127.0.0.1:" + port + "/actuator/health/liveness";
        System.exit(check(url) ? 0 : 1);
    }

    static boolean check(String url) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            c.setConnectTimeout(2000);
            c.setReadTimeout(3000);
            c.setInstanceFollowRedirects(false);
            try {
                return c.getResponseCode() == 200;
            } finally {
                c.disconnect();
            }
        } catch (IOException | IllegalArgumentException e) {
            return false;
        }
    }
}
