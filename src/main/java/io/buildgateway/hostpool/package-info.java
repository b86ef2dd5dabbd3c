/**
 * Build hosts: user-namespaced Docker daemons the gateway alone can reach. Checks each host's health and
 * user-namespace remapping ({@code /info} {@code SecurityOptions} must list {@code name=userns}), chooses the
 * least-loaded healthy host, and runs a build on it with docker-java — network {@code none}, base pulled, limits,
 * labels, timeout — then tags and pushes the image. The daemon reaches only the registry (docs/security.md) and gets
 * no password: {@link io.buildgateway.hostpool.RegistryTokens} mints a token that pulls only what was approved for
 * the build (of the team's own repositories and the pullable prefixes), and another, right before the push, for the
 * build's own repository; {@link io.buildgateway.hostpool.Confinement} checks what the daemon pulled and fetched
 * before anything is pushed. The only module that imports docker-java. Front door:
 * {@link io.buildgateway.hostpool.BuildHosts}. Uses only {@code shared}.
 */
package io.buildgateway.hostpool;
