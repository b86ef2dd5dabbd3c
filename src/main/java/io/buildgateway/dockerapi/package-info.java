/**
 * The Docker Engine API subset that {@code docker build} with the classic builder uses ({@code /_ping},
 * {@code /version}, {@code /info}, {@code POST /build}), on a port of its own ({@code gateway.docker-api.*}), so that
 * the stock Docker CLI builds through the gateway. A build goes through {@link io.buildgateway.builds.BuildSubmissions}
 * exactly as {@code POST /api/v1/builds} does; its log is streamed back as Docker's JSON messages. Host-level build
 * options are refused, never passed on; every other Docker API path is refused with what to do instead; credentials
 * the CLI sends for registries ({@code X-Registry-Config}) are never read. Uses auth, builds, policy and shared.
 */
package io.buildgateway.dockerapi;
