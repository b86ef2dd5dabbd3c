package io.buildgateway.hostpool;

import java.util.List;

/**
 * The fixed list of build hosts ({@code gateway.hostpool.hosts}): long-lived daemons that consecutive builds share.
 * A lease is the configured host itself and releasing it changes nothing; health is {@link BuildHosts}'s.
 */
final class FixedHosts implements BuildHostProvider {

    private final List<HostPoolProperties.Host> hosts;

    FixedHosts(List<HostPoolProperties.Host> hosts) {
        this.hosts = List.copyOf(hosts);
    }

    @Override
    public Lease acquire(String pool, String buildId) throws Unavailable {
        return hosts.stream().filter(h -> h.name().equals(pool)).findFirst()
                .map(h -> new Lease(pool, h, null, null, null))
                .orElseThrow(() -> new Unavailable("no build host named " + pool + " is configured", null));
    }

    @Override
    public void release(Lease lease) {
        // a fixed host outlives its builds
    }
}
