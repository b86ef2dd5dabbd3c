/**
 * Build hosts: user-namespaced Docker daemons the gateway alone can reach. Checks each host's health and
 * user-namespace remapping ({@code /info} {@code SecurityOptions} must list {@code name=userns}), chooses the
 * least-loaded healthy host, and runs a build on it with docker-java — network {@code none}, base pulled, limits,
 * labels, timeout — then tags and pushes the image with the gateway's own registry credentials. The only module
 * that imports docker-java. Front door: {@link io.buildgateway.hostpool.BuildHosts}. Uses only {@code shared}.
 */
package io.buildgateway.hostpool;
