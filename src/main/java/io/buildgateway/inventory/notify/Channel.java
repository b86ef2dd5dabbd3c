package io.buildgateway.inventory.notify;

import java.util.Locale;

/** How a delivery reaches its target; the lowercase name is stored and shown. */
enum Channel {
    WEBHOOK, EMAIL;

    String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Channel of(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
