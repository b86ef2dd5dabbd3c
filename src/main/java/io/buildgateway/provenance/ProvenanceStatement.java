package io.buildgateway.provenance;

import io.buildgateway.builds.BuildSucceeded;
import io.buildgateway.shared.Digest;
import io.buildgateway.shared.ImageReference;
import io.buildgateway.shared.SecretNames;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.databind.json.JsonMapper;

/**
 * The in-toto Statement v1 with a SLSA Provenance v1 predicate for one pushed image, as a pure function of the
 * build's record. Field by field it is documented in docs/slsa.md; change both together (the build type's version
 * names this layout). Build args and labels are written with sorted keys and absent optional fields left out, so
 * the same build always gives the same bytes.
 */
public final class ProvenanceStatement {

    public static final String STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
    public static final String PREDICATE_TYPE = "https://slsa.dev/provenance/v1";
    /** What a build of this gateway is; docs/slsa.md says what its parameters mean. */
    public static final String BUILD_TYPE = "urn:buildgateway:buildtype:dockerfile-classic:v1";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private ProvenanceStatement() {
    }

    /**
     * @param builderId the gateway's builder id (a URI naming this deployment)
     * @param builderVersion the gateway's version
     * @param registry {@code host[:port]} of the registry the image was pushed to
     */
    public static byte[] of(BuildSucceeded b, String builderId, String builderVersion, String registry) {
        BuildSucceeded.Run run = b.run();
        Digest image = Digest.parse(b.imageDigest());
        Digest context = Digest.parse(run.contextDigest());

        Map<String, Object> statement = new LinkedHashMap<>();
        statement.put("_type", STATEMENT_TYPE);
        statement.put("subject", List.of(resource(registry + "/" + b.repository(), null, image, null)));
        statement.put("predicateType", PREDICATE_TYPE);

        Map<String, Object> contextParameter = new LinkedHashMap<>();
        contextParameter.put("digest", context.value());
        contextParameter.put("location", contextLocation(context));
        contextParameter.put("size", run.contextSize());
        Map<String, Object> external = new LinkedHashMap<>();
        external.put("image", b.repository());
        external.put("tag", b.tag());
        external.put("dockerfile", run.dockerfile());
        putIfPresent(external, "target", run.target() == null || run.target().isBlank() ? null : run.target());
        // A secret in a build arg is a policy finding; should one be waived, its value still never leaves the gateway.
        external.put("buildArgs", new TreeMap<>(SecretNames.redact(run.buildArgs())));
        external.put("labels", new TreeMap<>(run.labels()));
        external.put("noCache", run.noCache());
        external.put("context", contextParameter);

        Map<String, Object> internal = new LinkedHashMap<>();
        internal.put("policyDigest", run.policyDigest());
        internal.put("host", run.host());
        internal.put("usernsRemap", run.usernsRemap());
        internal.put("networkMode", run.networkMode());
        internal.put("registry", registry);
        internal.put("requestedBy", b.requestedBy());
        putIfPresent(internal, "rebuildOf", b.rebuildOf() == null ? null : b.rebuildOf().toString());
        if (run.ephemeralHost() != null) {
            // Issue #16: a host started for this build alone and destroyed after it (SLSA Build L3 "ephemeral").
            // Absent: one of the configured, long-lived hosts that consecutive builds share.
            internal.put("ephemeral", true);
            Map<String, Object> instance = new LinkedHashMap<>();
            instance.put("id", run.ephemeralHost().id());
            putIfPresent(instance, "daemonId", run.ephemeralHost().daemonId());
            new TreeMap<>(run.ephemeralHost().facts()).forEach(instance::put);
            internal.put("hostInstance", instance);
        }
        if (run.builtContextDigest() != null) {
            // What the daemon received: the upload re-packed by the gateway with its canonical Dockerfile.
            Map<String, Object> built = new LinkedHashMap<>();
            built.put("digest", Digest.parse(run.builtContextDigest()).value());
            built.put("location", contextLocation(Digest.parse(run.builtContextDigest())));
            putIfPresent(built, "size", run.builtContextSize());
            internal.put("builtContext", built);
        }

        List<Object> dependencies = new ArrayList<>();
        dependencies.add(resource("context", contextLocation(context), context, null));
        if (run.builtContextDigest() != null) {
            Digest built = Digest.parse(run.builtContextDigest());
            dependencies.add(resource("built-context", contextLocation(built), built, null));
        }
        for (BuildSucceeded.Pulled p : run.pulled()) {
            // A base pulled pinned (name:tag@digest) is named as one pulled by tag, name:tag: the digest is the
            // resource's own (a reference by digest alone keeps it: it has no other version)
            String name = p.reference();
            if (name.endsWith("@" + p.digest())) {
                String tagged = name.substring(0, name.length() - p.digest().length() - 1);
                name = tagged.lastIndexOf(':') > tagged.lastIndexOf('/') ? tagged : name;
            }
            dependencies.add(resource(name, purl(name), Digest.parse(p.digest()),
                    p.step() == null ? null : Map.of("step", p.step())));
        }

        // What the build's steps fetched through the egress proxy (docs/egress.md): each response by its sha256, each
        // CONNECT tunnel by host and port only (what went through it is TLS the gateway did not read).
        for (BuildSucceeded.Fetched f : run.fetched()) {
            dependencies.add(resource(null, f.url(), Digest.parse(f.sha256().startsWith("sha256:") ? f.sha256()
                    : "sha256:" + f.sha256()),
                    Map.of("egress", "fetch", "status", Integer.toString(f.status()), "size", Long.toString(f.size()))));
        }
        for (BuildSucceeded.Tunnelled t : run.tunnels()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("uri", "https://" + t.host() + ":" + t.port());
            r.put("annotations", Map.of("egress", "tunnel", "bytesOut", Long.toString(t.bytesOut()),
                    "bytesIn", Long.toString(t.bytesIn())));
            dependencies.add(r);
        }

        Map<String, Object> definition = new LinkedHashMap<>();
        definition.put("buildType", BUILD_TYPE);
        definition.put("externalParameters", external);
        definition.put("internalParameters", internal);
        definition.put("resolvedDependencies", dependencies);

        Map<String, Object> builder = new LinkedHashMap<>();
        builder.put("id", builderId);
        builder.put("version", Map.of("build-gateway", builderVersion));
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("invocationId", b.buildId().toString());
        putIfPresent(metadata, "startedOn", run.startedAt() == null ? null
                : run.startedAt().truncatedTo(ChronoUnit.MILLIS).toString());
        metadata.put("finishedOn", b.finishedAt().truncatedTo(ChronoUnit.MILLIS).toString());
        Map<String, Object> runDetails = new LinkedHashMap<>();
        runDetails.put("builder", builder);
        runDetails.put("metadata", metadata);
        if (b.imageId() != null && Digest.isValid(b.imageId())) {
            runDetails.put("byproducts", List.of(resource("image-config", null, Digest.parse(b.imageId()), null)));
        }

        Map<String, Object> predicate = new LinkedHashMap<>();
        predicate.put("buildDefinition", definition);
        predicate.put("runDetails", runDetails);
        statement.put("predicate", predicate);
        return JSON.writeValueAsBytes(statement);
    }

    /** Where the context is kept: the gateway's content-addressed store, by digest (rebuilds take it from there). */
    static String contextLocation(Digest context) {
        return "urn:buildgateway:context:" + context.value();
    }

    /**
     * A package URL (purl, type docker) for an image reference: {@code pkg:docker/<repository>@<tag or digest>
     * ?repository_url=<registry>}.
     */
    static String purl(String reference) {
        ImageReference split = ImageReference.split(reference);
        String rest = split.name();
        String version = split.digest() != null ? split.digest() : split.tag();
        String registry = null;
        int first = rest.indexOf('/');
        if (first > 0) {
            String head = rest.substring(0, first);
            if (head.contains(".") || head.contains(":") || head.equals("localhost")) {
                registry = head;
                rest = rest.substring(first + 1);
            }
        }
        StringBuilder out = new StringBuilder("pkg:docker/").append(rest);
        if (version != null) {
            out.append('@').append(URLEncoder.encode(version, StandardCharsets.UTF_8));
        }
        if (registry != null) {
            out.append("?repository_url=").append(URLEncoder.encode(registry, StandardCharsets.UTF_8));
        }
        return out.toString();
    }

    private static Map<String, Object> resource(String name, String uri, Digest digest,
            Map<String, String> annotations) {
        Map<String, Object> r = new LinkedHashMap<>();
        putIfPresent(r, "name", name);
        putIfPresent(r, "uri", uri);
        r.put("digest", Map.of("sha256", digest.hex()));
        putIfPresent(r, "annotations", annotations);
        return r;
    }

    private static void putIfPresent(Map<String, Object> map, String key, Object value) {
        if (value != null) {
            map.put(key, value);
        }
    }
}
