package io.buildgateway.support;

import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A second gateway of the suite, shared by the classes that need the suite's gateway with settings that the other
 * classes must not get, and that do not touch what one another checks: Spring's test context cache keys on the merged
 * configuration, so these classes start one Spring context (per JVM) where each used to start its own. Its own data
 * folder, PostgreSQL and audit sinks ({@link #ownGateway}), and:
 *
 * <ul>
 * <li>answers by tag kept five minutes ({@code gateway.hostpool.base-triggers-ttl}, the suite's is 10 s), so that the
 * pin tests' race (a tag moved while a read is still reused) is deterministic: {@code builds.BasePinIT},
 * {@code builds.SourcePinIT};</li>
 * <li>build contexts up to 512 MB: the gateway's own image is built from the packaged jar (~185 MB: it carries the
 * embedded PostgreSQL binaries), bigger than the suite's 32 MB intake limit: {@code images.GatewayImageIT}.</li>
 * </ul>
 *
 * A subclass declares no {@code @DynamicPropertySource} of its own: that would make its context another one.
 */
public abstract class SecondGatewayTest extends IntegrationTest {

    @DynamicPropertySource
    static void secondGateway(DynamicPropertyRegistry registry) {
        ownGateway(registry, DATA.resolveSibling(DATA.getFileName() + "-second"));
        registry.add("gateway.hostpool.base-triggers-ttl", () -> "5m");
        registry.add("bgw.it.max-context-size", () -> "512MB");
        registry.add("bgw.it.max-uncompressed-size", () -> "512MB");
    }
}
