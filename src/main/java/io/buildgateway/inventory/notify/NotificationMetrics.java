package io.buildgateway.inventory.notify;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.stereotype.Component;

/**
 * {@code gateway.notifications} (Prometheus: {@code gateway_notifications_total}), tagged by {@code channel}
 * (webhook, email) and {@code outcome}: queued (committed), delivered, retried (a transient failure, another attempt
 * is due), failed (permanent, or attempts exhausted). A rising failed count is the alert.
 */
@Component
class NotificationMetrics {

    static final String NAME = "gateway.notifications";

    private final MeterRegistry registry;

    NotificationMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void count(Channel channel, String outcome) {
        Counter.builder(NAME).description("notification deliveries by channel and outcome")
                .tag("channel", channel.value()).tag("outcome", outcome).register(registry).increment();
    }
}
