package io.buildgateway.shared;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

@Configuration(proxyBeanMethods = false)
class SharedConfig {

    /** This host's clock (file ages, and the gateway's clock before its first measurement); a test may skew it. */
    @Bean
    HostClock hostClock() {
        return new HostClock(Clock.systemUTC());
    }

    /**
     * One clock for the whole gateway, so that tests can reason about time: the database's time, measured and carried
     * forward by the JVM's monotonic clock ({@link DatabaseClock}), so that replicas whose clocks differ still read
     * one time. {@code gateway.clock.sync-interval} 0 leaves this host's clock as it is.
     */
    @Bean
    DatabaseClock clock(HostClock host, JdbcTemplate jdbc) {
        return new DatabaseClock(host.clock(), () -> jdbc.queryForObject("select clock_timestamp()",
                java.sql.Timestamp.class).toInstant());
    }

    @Bean
    ClockSync clockSync(DatabaseClock clock, @Value("${gateway.clock.sync-interval:30s}") Duration interval,
            MeterRegistry meters) {
        return new ClockSync(clock, interval, meters);
    }

    /** The CPU priority of background work (OpenSCAP, its root filesystems): {@code gateway.background.nice}. */
    @Bean
    BackgroundPriority backgroundPriority(@Value("${gateway.background.nice:0}") int nice) {
        return new BackgroundPriority(nice);
    }
}
