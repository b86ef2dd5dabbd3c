package io.buildgateway.builds;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Published in the transaction that records a build as SUCCEEDED: the image is in the registry under
 * {@code imageDigest}. The inventory and the provenance listen for it; a listener that throws rolls the SUCCEEDED
 * back (the build is then recorded FAILED).
 *
 * @param baseImage the image the final stage starts from, as the policy resolved it (null for scratch)
 * @param rebuildOf the build this one rebuilt, or null
 * @param run how the build was asked for and how it ran: everything its provenance states
 */
public record BuildSucceeded(UUID buildId, String team, String repository, String tag, String imageDigest,
        String imageId, String baseImage, UUID rebuildOf, String requestedBy, Instant finishedAt, Run run) {

    /**
     * What the caller chose and what the gateway decided for a build.
     *
     * @param imageRef {@code <registry>/<team>/<name>@sha256:…}, as pushed
     * @param buildArgs the caller's build args as stored: values of names the policy declares public as given,
     *        every other value as {@code sha256:<hex>} of it (issue #11); secret-looking names are still redacted
     *        before showing
     * @param labels the caller's labels (not the gateway's own)
     * @param usernsRemap whether the host ran it with user-namespace remapping
     * @param networkMode the build steps' network mode
     * @param pulled every image the daemon pulled for the build, by the digest it resolved
     * @param ephemeralHost the host started for this build alone and destroyed after it; null on a fixed host
     * @param fetched every response the egress proxy passed to the build (issue #14), in order
     * @param tunnels every CONNECT tunnel the egress proxy opened for the build, in order
     */
    public record Run(String imageRef, String contextDigest, long contextSize, String dockerfile, String target,
            Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String policyDigest,
            String host, boolean usernsRemap, String networkMode, Instant requestedAt, Instant startedAt,
            List<Pulled> pulled, String builtContextDigest, Long builtContextSize, EphemeralHost ephemeralHost,
            List<Fetched> fetched, List<Tunnelled> tunnels) {

        /** A run on a fixed host without egress. */
        public Run(String imageRef, String contextDigest, long contextSize, String dockerfile, String target,
                Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String policyDigest,
                String host, boolean usernsRemap, String networkMode, Instant requestedAt, Instant startedAt,
                List<Pulled> pulled, String builtContextDigest, Long builtContextSize) {
            this(imageRef, contextDigest, contextSize, dockerfile, target, buildArgs, labels, noCache, policyDigest,
                    host, usernsRemap, networkMode, requestedAt, startedAt, pulled, builtContextDigest,
                    builtContextSize, null, List.of(), List.of());
        }

        /** A run on an ephemeral host without egress. */
        public Run(String imageRef, String contextDigest, long contextSize, String dockerfile, String target,
                Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String policyDigest,
                String host, boolean usernsRemap, String networkMode, Instant requestedAt, Instant startedAt,
                List<Pulled> pulled, String builtContextDigest, Long builtContextSize, EphemeralHost ephemeralHost) {
            this(imageRef, contextDigest, contextSize, dockerfile, target, buildArgs, labels, noCache, policyDigest,
                    host, usernsRemap, networkMode, requestedAt, startedAt, pulled, builtContextDigest,
                    builtContextSize, ephemeralHost, List.of(), List.of());
        }

        /** A run on a fixed host with egress. */
        public Run(String imageRef, String contextDigest, long contextSize, String dockerfile, String target,
                Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String policyDigest,
                String host, boolean usernsRemap, String networkMode, Instant requestedAt, Instant startedAt,
                List<Pulled> pulled, String builtContextDigest, Long builtContextSize, List<Fetched> fetched,
                List<Tunnelled> tunnels) {
            this(imageRef, contextDigest, contextSize, dockerfile, target, buildArgs, labels, noCache, policyDigest,
                    host, usernsRemap, networkMode, requestedAt, startedAt, pulled, builtContextDigest,
                    builtContextSize, null, fetched, tunnels);
        }

        /** A run recorded before contexts were re-packed (no built context). */
        public Run(String imageRef, String contextDigest, long contextSize, String dockerfile, String target,
                Map<String, String> buildArgs, Map<String, String> labels, boolean noCache, String policyDigest,
                String host, boolean usernsRemap, String networkMode, Instant requestedAt, Instant startedAt,
                List<Pulled> pulled) {
            this(imageRef, contextDigest, contextSize, dockerfile, target, buildArgs, labels, noCache, policyDigest,
                    host, usernsRemap, networkMode, requestedAt, startedAt, pulled, null, null);
        }

        public Run {
            // Not Map.copyOf: a build arg given without a value (Engine API) is a null value, kept as such.
            buildArgs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(buildArgs));
            labels = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(labels));
            pulled = List.copyOf(pulled);
            fetched = fetched == null ? List.of() : List.copyOf(fetched);
            tunnels = tunnels == null ? List.of() : List.copyOf(tunnels);
        }
    }

    /**
     * An ephemeral build host (issue #16): its id (never reused), its daemon's {@code ID}, and what else identifies
     * it (provider, Pod name and UID, node).
     */
    public record EphemeralHost(String id, String daemonId, Map<String, String> facts) {
        public EphemeralHost {
            facts = facts == null ? Map.of() : Map.copyOf(facts);
        }
    }

    /** A response the egress proxy passed: the URL (no userinfo), its status, size and body sha256 (hex). */
    public record Fetched(String url, int status, long size, String sha256) {
    }

    /** A CONNECT tunnel the egress proxy opened: host, port and the bytes each way (no digest: TLS inside). */
    public record Tunnelled(String host, int port, long bytesOut, long bytesIn) {
    }

    /** An image the build pulled: the reference, the manifest digest the daemon resolved, the step that used it. */
    public record Pulled(String reference, String digest, String step) {
    }
}
