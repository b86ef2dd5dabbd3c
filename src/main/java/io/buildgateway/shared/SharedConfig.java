package io.buildgateway.shared;

import java.time.Clock;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class SharedConfig {

    /** One clock for the whole gateway, so that tests can reason about time. */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }

    /** The CPU priority of background work (OpenSCAP, its root filesystems): {@code gateway.background.nice}. */
    @Bean
    BackgroundPriority backgroundPriority(@Value("${gateway.background.nice:0}") int nice) {
        return new BackgroundPriority(nice);
    }
}
