package io.buildgateway.scanning;

import io.buildgateway.scanning.compliance.ComplianceCache;
import io.buildgateway.scanning.compliance.OpenScap;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The OpenSCAP runner and its health: when oscap cannot run, every scan records compliance as "not run" and the
 * {@code compliance} health component says so (status {@code OUT_OF_SERVICE}) so that nobody mistakes silence for a
 * pass.
 */
@Configuration(proxyBeanMethods = false)
class ScanningConfig {

    private static final Logger log = LoggerFactory.getLogger(ScanningConfig.class);

    @Bean
    OpenScap openScap(ScanningProperties properties, io.buildgateway.shared.BackgroundPriority priority) {
        OpenScap oscap = new OpenScap(properties.oscapCommand(), properties.complianceContent(),
                properties.complianceProfile().isBlank() ? null : properties.complianceProfile(),
                new OpenScap.RunLimit(properties.complianceTimeoutFloor(), properties.complianceTimeoutPerGb(),
                        properties.complianceTimeout())).runningAt(priority)
                .stallingAfter(properties.complianceStallTimeout());
        if (!oscap.available()) {
            log.warn("COMPLIANCE NOT RUN: '{}' cannot run, so no image gets an OpenSCAP evaluation; install "
                    + "openscap-scanner (scripts/env.sh does)", properties.oscapCommand());
        }
        return oscap;
    }

    @Bean
    LayerCache layerCache(ScanningProperties properties) throws IOException {
        return new LayerCache(properties.workDir().resolve("layers"), properties.layerCacheSize().toBytes());
    }

    @Bean
    ComplianceCache complianceCache(ScanningProperties properties) throws IOException {
        return new ComplianceCache(properties.workDir().resolve("compliance-results"),
                properties.complianceCacheEntries());
    }

    @Bean
    HealthIndicator complianceHealthIndicator(OpenScap oscap, ScanningProperties properties) {
        return () -> oscap.available()
                ? Health.up().withDetail("content", properties.complianceContent().toString()).build()
                : Health.outOfService().withDetail("compliance", "not run: oscap is not available").build();
    }
}
