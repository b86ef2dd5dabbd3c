package io.buildgateway.hostpool;

import java.util.List;
import java.util.Optional;

/**
 * The fixed list of build hosts ({@code gateway.hostpool.hosts}): long-lived daemons that consecutive builds share.
 * A lease is the configured host itself and releasing it changes nothing; health is {@link BuildHosts}'s.
 */
final class FixedHosts implements BuildHostProvider {

    private final List<HostPoolProperties.Host> hosts;

    FixedHosts(List<HostPoolProperties.Host> hosts) {
        this.hosts = List.copyOf(hosts);
    }

    /** The configured host of that name; none for an ephemeral pool's name or a host no longer configured. */
    Optional<HostPoolProperties.Host> named(String name) {
        return hosts.stream().filter(h -> h.name().equals(name)).findFirst();
    }

    @Override
    public Lease acquire(String pool, String buildId) throws Unavailable {
        return named(pool)
                .map(h -> new Lease(pool, h, null, null, null))
                .orElseThrow(() -> new Unavailable("no build host named " + pool + " is configured", null));
    }

    @Override
    public void release(Lease lease) {
        // a fixed host outlives its builds
    }
}
