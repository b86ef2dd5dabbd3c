package io.buildgateway.shared;

import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

@Configuration(proxyBeanMethods = false)
class SharedConfig {

    /** One clock for the whole gateway, so that tests can reason about time. */
    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }
}
