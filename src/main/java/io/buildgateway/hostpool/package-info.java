/**
 * Build hosts: user-namespaced Docker daemons the gateway alone can reach. Checks each host's health and
 * user-namespace remapping ({@code /info} {@code SecurityOptions} must list {@code name=userns}), chooses the
 * least-loaded healthy host, starts ephemeral hosts, and offers the host-level operations of a build with
 * docker-java ({@link io.buildgateway.hostpool.BuildHost}): build — network {@code none}, base pulled, limits,
 * labels, timeout — read the image, tag, push, remove. The order of those operations and the decisions between them
 * (confinement, gates, quarantine, retry) are the build sequence's, in {@code builds}. The daemon reaches only the
 * registry (docs/security.md) and gets no password: {@link io.buildgateway.hostpool.RegistryTokens} mints a token that
 * pulls only what was approved for the build (of the team's own repositories and the pullable prefixes), and
 * another, right before each push, for the repository pushed to; {@link io.buildgateway.hostpool.Confinement} judges
 * what the daemon pulled and fetched. The only module that imports docker-java. Front door:
 * {@link io.buildgateway.hostpool.BuildHosts}. Uses only {@code shared}.
 */
package io.buildgateway.hostpool;
